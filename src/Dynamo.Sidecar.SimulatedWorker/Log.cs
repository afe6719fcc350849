namespace Dynamo.Sidecar.SimulatedWorker;

/// <summary>Every log line the worker writes. None carries prompt or completion text.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "GenerationStarted", Level = LogLevel.Debug,
        Message = "{Path}: generating {MaxTokens} tokens x {Choices} choices (prompt {PromptTokens} tokens, {CachedTokens} cached, stream {Stream})")]
    public static partial void GenerationStarted(ILogger logger, string? path, int maxTokens, int choices, int promptTokens, int cachedTokens, bool stream);

    [LoggerMessage(EventId = 2, EventName = "GenerationCompleted", Level = LogLevel.Debug,
        Message = "{Path}: finished {GeneratedTokens} tokens in {ElapsedMs:F0} ms")]
    public static partial void GenerationCompleted(ILogger logger, string? path, int generatedTokens, double elapsedMs);

    [LoggerMessage(EventId = 3, EventName = "GenerationAborted", Level = LogLevel.Information,
        Message = "{Path}: client disconnected after {GeneratedTokens} tokens; generation aborted")]
    public static partial void GenerationAborted(ILogger logger, string? path, int generatedTokens);

    [LoggerMessage(EventId = 4, EventName = "RequestRejected", Level = LogLevel.Information,
        Message = "{Path}: rejected with {StatusCode}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string? path, int statusCode, string reason);

    [LoggerMessage(EventId = 5, EventName = "FaultCommitted", Level = LogLevel.Information,
        Message = "{Path}: simulated fault {Fault} after {GeneratedTokens} tokens")]
    public static partial void FaultCommitted(ILogger logger, string? path, Faults.FaultKind fault, int generatedTokens);
}

namespace Dynamo.Sidecar.Hosting;

/// <summary>Every log line the sidecar writes. None carries prompt or completion text.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "AdminListening", Level = LogLevel.Information,
        Message = "Admin listener (/metrics, /healthz, /readyz) on {Address}")]
    public static partial void AdminListening(ILogger logger, string address);

    [LoggerMessage(EventId = 2, EventName = "EncodedResponseNotMetered", Level = LogLevel.Warning,
        Message = "The worker sent a response encoded as '{Encoding}' although the sidecar asked for none; such responses pass through unmetered. Logged once.")]
    public static partial void EncodedResponseNotMetered(ILogger logger, string encoding);

    [LoggerMessage(EventId = 3, EventName = "WorkerNotReady", Level = LogLevel.Warning,
        Message = "Worker {Destination} is not ready: {Reason}")]
    public static partial void WorkerNotReady(ILogger logger, string destination, string reason);

    [LoggerMessage(EventId = 4, EventName = "Draining", Level = LogLevel.Information,
        Message = "Shutting down: no new connections on the proxy listener; {Inflight} metered requests in flight may finish for up to {DrainTimeout}")]
    public static partial void Draining(ILogger logger, double inflight, TimeSpan drainTimeout);

    [LoggerMessage(EventId = 5, EventName = "Drained", Level = LogLevel.Information,
        Message = "Proxy listener drained: {Started} metered requests started, {Ended} ended, {Inflight} in flight; closing the admin listener")]
    public static partial void Drained(ILogger logger, double started, double ended, double inflight);

    [LoggerMessage(EventId = 6, EventName = "IdleHeapTrimmed", Level = LogLevel.Debug,
        Message = "Quiet: returned the heap to the system, resident {BeforeMiB:F1} MiB -> {AfterMiB:F1} MiB, GC heap committed {CommittedMiB:F1} MiB")]
    public static partial void IdleHeapTrimmed(ILogger logger, double beforeMiB, double afterMiB, double committedMiB);

    // 20-29: the worker readiness probe and the model gauges it sets.
    [LoggerMessage(EventId = 20, EventName = "WorkerReady", Level = LogLevel.Information,
        Message = "Worker {Destination} is ready")]
    public static partial void WorkerReady(ILogger logger, string destination);

    [LoggerMessage(EventId = 21, EventName = "ModelsListed", Level = LogLevel.Information,
        Message = "Worker {Destination} lists {Count} models on /v1/models: {Models}")]
    public static partial void ModelsListed(ILogger logger, string destination, int count, string models);

    [LoggerMessage(EventId = 22, EventName = "ModelsUnavailable", Level = LogLevel.Warning,
        Message = "Worker {Destination} gives no model list ({Reason}): model_ready and model_context_length keep their last values")]
    public static partial void ModelsUnavailable(ILogger logger, string destination, string reason);

    [LoggerMessage(EventId = 23, EventName = "ContextLengthUnavailable", Level = LogLevel.Information,
        Message = "Worker {Destination} publishes no context length for {Models} (no max_model_len on /v1/models; /props: {Reason}): model_context_length is not exported for them")]
    public static partial void ContextLengthUnavailable(ILogger logger, string destination, string models, string reason);

    [LoggerMessage(EventId = 24, EventName = "ReadinessProbeFailed", Level = LogLevel.Error,
        Message = "The background readiness probe failed; it runs again at the next interval")]
    public static partial void ReadinessProbeFailed(ILogger logger, Exception exception);
}

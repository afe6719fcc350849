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
}

namespace Dynamo.Sidecar.Sse;

/// <summary>Sees every complete SSE event of a response as it passes, and decides whether the client gets it.</summary>
internal interface ISseEventObserver
{
    /// <summary>Inspects one event. Must not throw.</summary>
    /// <returns><see langword="false"/> to remove the event from what the client receives.</returns>
    bool OnEvent(SseEvent sseEvent);
}

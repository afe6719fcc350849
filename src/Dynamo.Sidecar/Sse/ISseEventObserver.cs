namespace Dynamo.Sidecar.Sse;

/// <summary>Sees every complete SSE event of a response as it passes, and decides whether the client gets it.</summary>
internal interface ISseEventObserver
{
    /// <summary>Inspects one raw event (its blank line included). Must not throw.</summary>
    /// <param name="singleLineLength">
    /// When the event is one line and the blank line, the length of that line (line ending excluded), so the
    /// observer need not look for it again; -1 otherwise, or when the framer did not see the whole event.
    /// </param>
    /// <returns><see langword="false"/> to remove the event from what the client receives.</returns>
    bool OnEvent(ReadOnlySpan<byte> rawEvent, int singleLineLength);

    /// <summary>Every event completed by one upstream read has been shown (they arrived together). Must not throw.</summary>
    void OnReadEnd();
}

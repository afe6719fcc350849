namespace Dynamo.Sidecar.Sse;

/// <summary>
/// Finds where SSE events end in bytes that arrive in arbitrary pieces. An event ends with a blank
/// line; lines end with CRLF, LF or CR (WHATWG SSE), and a CRLF may be split across two pieces.
/// </summary>
internal struct SseEventFramer
{
    private bool _lastWasCr;

    // The line being read, and the non-empty lines of the event so far (for SingleLineLength).
    private long _lineLength;
    private int _lines;
    private long _firstLineLength;

    /// <summary>
    /// Scans the next piece of the stream. Returns the length of the prefix of <paramref name="piece"/>
    /// that completes the current event (its blank line included), or -1 when the event goes on past it.
    /// Call again with the rest of the piece after an event ends.
    /// </summary>
    public int FindEventEnd(ReadOnlySpan<byte> piece)
    {
        var i = 0;
        while (i < piece.Length)
        {
            if (_lastWasCr)
            {
                _lastWasCr = false;
                if (piece[i] == (byte)'\n')
                {
                    i++;
                    continue;
                }
            }

            // Most lines are followed by the blank line that ends their event: no search needed for it.
            var terminator = piece[i] is (byte)'\r' or (byte)'\n' ? 0 : piece[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (terminator < 0)
            {
                _lineLength += piece.Length - i;
                return -1;
            }

            _lineLength += terminator;
            i += terminator;
            if (piece[i++] == (byte)'\r')
            {
                if (i == piece.Length)
                {
                    _lastWasCr = true;
                }
                else if (piece[i] == (byte)'\n')
                {
                    i++;
                }
            }

            if (_lineLength == 0)
            {
                SingleLineLength = _lines == 1 && _firstLineLength <= int.MaxValue ? (int)_firstLineLength : -1;
                _lines = 0;
                return i;
            }

            if (_lines++ == 0)
            {
                _firstLineLength = _lineLength;
            }

            _lineLength = 0;
        }

        return -1;
    }

    /// <summary>
    /// For the event the last <see cref="FindEventEnd"/> completed: the length of its only line (the event is that
    /// line, its line ending and the blank line), or -1 when it has several lines or none.
    /// </summary>
    public int SingleLineLength { get; private set; }

    /// <summary>
    /// Called when the caller has itself taken the LF that completes a CRLF split across pieces
    /// (see <see cref="EndsWithSplitCrlfCandidate"/>), so the framer must not expect it any more.
    /// </summary>
    public void ForgetPendingCr() => _lastWasCr = false;

    /// <summary>True when the last piece ended in a CR whose LF, if any, has not arrived yet.</summary>
    public readonly bool EndsWithSplitCrlfCandidate => _lastWasCr;
}

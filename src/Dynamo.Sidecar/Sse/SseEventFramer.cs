namespace Dynamo.Sidecar.Sse;

/// <summary>
/// Finds where SSE events end in bytes that arrive in arbitrary pieces. An event ends with a blank
/// line; lines end with CRLF, LF or CR (WHATWG SSE), and a CRLF may be split across two pieces.
/// </summary>
internal struct SseEventFramer
{
    private bool _lineHasBytes;
    private bool _lastWasCr;

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

            var terminator = piece[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (terminator < 0)
            {
                _lineHasBytes = true;
                return -1;
            }

            if (terminator > 0)
            {
                _lineHasBytes = true;
            }

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

            if (!_lineHasBytes)
            {
                return i;
            }

            _lineHasBytes = false;
        }

        return -1;
    }

    /// <summary>
    /// Called when the caller has itself taken the LF that completes a CRLF split across pieces
    /// (see <see cref="EndsWithSplitCrlfCandidate"/>), so the framer must not expect it any more.
    /// </summary>
    public void ForgetPendingCr() => _lastWasCr = false;

    /// <summary>True when the last piece ended in a CR whose LF, if any, has not arrived yet.</summary>
    public readonly bool EndsWithSplitCrlfCandidate => _lastWasCr;
}

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// Finds where SSE events end in bytes read straight off the response body, whatever the read sizes:
/// an event ends with a blank line, and lines end with LF, CRLF or CR (a CRLF may be split between reads).
/// </summary>
internal struct SseEventSplitter
{
    private bool _lineHasBytes;
    private bool _afterCr;

    /// <summary>
    /// Returns the length of the prefix of <paramref name="bytes"/> that completes the current event (its blank
    /// line included), or -1 when the event goes on past them. Call again with the rest after an event ends.
    /// </summary>
    public int FindEventEnd(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            if (_afterCr)
            {
                _afterCr = false;
                if (bytes[i] == (byte)'\n')
                {
                    i++;
                    continue;
                }
            }

            var end = bytes[i..].IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                _lineHasBytes = true;
                return -1;
            }

            _lineHasBytes |= end > 0;
            i += end;
            if (bytes[i++] == (byte)'\r')
            {
                if (i == bytes.Length)
                {
                    _afterCr = true;
                }
                else if (bytes[i] == (byte)'\n')
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
}

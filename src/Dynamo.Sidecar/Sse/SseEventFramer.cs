namespace Dynamo.Sidecar.Sse;

/// <summary>What the bytes <see cref="SseEventFramer.FindEventEnd"/> just ended are, and so what the stream does with them.</summary>
internal enum SseFramed : byte
{
    /// <summary>A whole event within the cap: shown to the observer, which keeps or removes it.</summary>
    Event,

    /// <summary>An event over the cap (its first bytes may be gone already): passed on unparsed.</summary>
    OversizedEvent,

    /// <summary>The LF of the CRLF that ended the previous event, arriving in the next piece: goes where that event went.</summary>
    LfOfPreviousEvent,
}

/// <summary>
/// Finds where SSE events end in bytes that arrive in arbitrary pieces, and which are too large to inspect.
/// An event ends with a blank line; lines end with CRLF, LF or CR (WHATWG SSE). The LF of a CRLF belongs to
/// the line the CR ended, also when the CR ends one piece and the LF starts the next: this type alone knows it.
/// </summary>
internal struct SseEventFramer
{
    private readonly int _maxEventBytes;
    private PendingCr _pendingCr;

    // The event so far (all its bytes), the line being read (without its line end), and the non-empty lines
    // of the event so far (for _singleLineLength).
    private long _eventLength;
    private long _lineLength;
    private int _lines;
    private long _firstLineLength;

    // For the event last ended: the length of its only line (the event is that line, its line ending and the
    // blank line), or -1 when it has several lines or none. Handed over inside its SseEvent.
    private int _singleLineLength;

    /// <param name="maxEventBytes">The largest event to inspect (SPEC §4): larger ones are <see cref="SseFramed.OversizedEvent"/>.</param>
    public SseEventFramer(int maxEventBytes) => _maxEventBytes = maxEventBytes;

    // The last piece ended in a CR, so an LF starting the next piece completes its CRLF.
    private enum PendingCr : byte
    {
        None,

        /// <summary>The CR ended a line inside the event: the LF is part of the event, not a blank line.</summary>
        InEvent,

        /// <summary>The CR ended an event already reported: the LF is reported on its own, as <see cref="SseFramed.LfOfPreviousEvent"/>.</summary>
        AfterEvent,

        /// <summary>
        /// The CR ended an event exactly the cap long: with its LF it is one byte over, so it is reported only once the
        /// next byte (or the end of the stream) tells.
        /// </summary>
        AfterEventAtTheCap,
    }

    /// <summary>
    /// Scans the next (non-empty) piece of the stream. Returns the length of the prefix of <paramref name="piece"/>
    /// that ends what <see cref="Framed"/> then names, or -1 when the event goes on past it. Call again with the rest of
    /// the piece after an end. An event whose blank line ends in a CR at the end of the piece is reported at once
    /// (the client gets it without waiting for a byte that may never come), except one exactly the cap long.
    /// </summary>
    public int FindEventEnd(ReadOnlySpan<byte> piece)
    {
        var start = 0;
        switch (_pendingCr)
        {
            case PendingCr.InEvent:
                _pendingCr = PendingCr.None;
                if (piece[0] == (byte)'\n')
                {
                    start = 1;
                    _eventLength++;
                }

                break;
            case PendingCr.AfterEvent:
                _pendingCr = PendingCr.None;
                if (piece[0] == (byte)'\n')
                {
                    Framed = SseFramed.LfOfPreviousEvent;
                    return 1;
                }

                break;
            case PendingCr.AfterEventAtTheCap:
                _pendingCr = PendingCr.None;
                _eventLength = 0;
                var lfFollows = piece[0] == (byte)'\n';
                Framed = lfFollows ? SseFramed.OversizedEvent : SseFramed.Event;
                return lfFollows ? 1 : 0;
        }

        var i = start;
        while (i < piece.Length)
        {
            // Most lines are followed by the blank line that ends their event: no search needed for it.
            var terminator = piece[i] is (byte)'\r' or (byte)'\n' ? 0 : piece[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (terminator < 0)
            {
                _lineLength += piece.Length - i;
                break;
            }

            _lineLength += terminator;
            i += terminator;
            var crEndsPiece = false;
            if (piece[i++] == (byte)'\r')
            {
                if (i == piece.Length)
                {
                    crEndsPiece = true;
                }
                else if (piece[i] == (byte)'\n')
                {
                    i++;
                }
            }

            if (_lineLength == 0)
            {
                return EndEvent(_eventLength + i - start, crEndsPiece, i);
            }

            if (crEndsPiece)
            {
                _pendingCr = PendingCr.InEvent;
            }

            if (_lines++ == 0)
            {
                _firstLineLength = _lineLength;
            }

            _lineLength = 0;
        }

        _eventLength += piece.Length - start;
        return -1;
    }

    /// <summary>What the bytes the last <see cref="FindEventEnd"/> or <see cref="EndOfStream"/> ended are.</summary>
    public SseFramed Framed { get; private set; }

    /// <summary>
    /// The <see cref="SseFramed.Event"/> last ended, over its <paramref name="bytes"/> (which the caller holds). It carries
    /// what framing learned of its lines, so reading its data does not search for them again.
    /// </summary>
    public readonly SseEvent Event(ReadOnlySpan<byte> bytes) => new(bytes, _singleLineLength);

    /// <summary>
    /// True while the event being read is already too large to inspect, so the bytes held for it can be passed on
    /// (an event that has reached the cap without ending will end over it).
    /// </summary>
    public readonly bool IsOversized => _eventLength >= _maxEventBytes && _pendingCr != PendingCr.AfterEventAtTheCap;

    /// <summary>
    /// The stream ended. Returns true when the bytes since the last end are an <see cref="SseFramed.Event"/> that was waiting
    /// for the byte after its final CR; other bytes left are an unterminated tail.
    /// </summary>
    public bool EndOfStream()
    {
        if (_pendingCr != PendingCr.AfterEventAtTheCap)
        {
            return false;
        }

        _pendingCr = PendingCr.None;
        _eventLength = 0;
        Framed = SseFramed.Event;
        return true;
    }

    private int EndEvent(long eventLength, bool crEndsPiece, int end)
    {
        _singleLineLength = _lines == 1 && _firstLineLength <= int.MaxValue ? (int)_firstLineLength : -1;
        _lines = 0;
        if (crEndsPiece && eventLength == _maxEventBytes)
        {
            _eventLength = eventLength;
            _pendingCr = PendingCr.AfterEventAtTheCap;
            return -1;
        }

        _eventLength = 0;
        _pendingCr = crEndsPiece ? PendingCr.AfterEvent : PendingCr.None;
        Framed = eventLength > _maxEventBytes ? SseFramed.OversizedEvent : SseFramed.Event;
        return end;
    }
}

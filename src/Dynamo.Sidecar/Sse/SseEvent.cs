using System.Buffers;

namespace Dynamo.Sidecar.Sse;

/// <summary>
/// One complete SSE event as it passed (its blank line included), and its <c>data</c>, read without allocating.
/// What <see cref="SseEventFramer"/> learned of the event's lines while framing it travels inside, so reading the
/// data does not search for them again; no one else needs to know.
/// </summary>
internal readonly ref struct SseEvent
{
    // The length of the event's only line (line ending excluded) when the framer saw it; -1 otherwise.
    private readonly int _singleLineLength;

    /// <summary>An event whose lines are not known yet (a stream's unterminated tail, a test's text).</summary>
    public SseEvent(ReadOnlySpan<byte> raw)
        : this(raw, singleLineLength: -1)
    {
    }

    /// <summary>For <see cref="SseEventFramer.Event"/>, which has already found the event's only line.</summary>
    internal SseEvent(ReadOnlySpan<byte> raw, int singleLineLength)
    {
        Raw = raw;
        _singleLineLength = singleLineLength;
    }

    /// <summary>The event's bytes as the worker sent them.</summary>
    public ReadOnlySpan<byte> Raw { get; }

    /// <summary>
    /// Finds the event's data. A single <c>data:</c> line (the usual case) is returned as a slice of
    /// <see cref="Raw"/>; several are joined with LF into <paramref name="scratch"/>, which is
    /// grown from the pool when needed (the caller returns it).
    /// </summary>
    /// <returns>False when the event has no data line (a comment, a keep-alive, an <c>id:</c> only).</returns>
    public bool TryGetData(ref byte[]? scratch, out ReadOnlySpan<byte> data)
    {
        var rawEvent = Raw;
        if (_singleLineLength >= 0)
        {
            return TryGetDataValue(rawEvent[.._singleLineLength], out data);
        }

        data = default;
        var lines = 0;
        var joinedLength = 0;
        var position = 0;
        while (position < rawEvent.Length)
        {
            var line = NextLine(rawEvent, position, out position);
            if (!TryGetDataValue(line, out var value))
            {
                continue;
            }

            if (lines == 0)
            {
                data = value;
                joinedLength = value.Length;
            }
            else
            {
                if (lines == 1)
                {
                    EnsureScratch(ref scratch, rawEvent.Length);
                    data.CopyTo(scratch);
                }

                scratch![joinedLength++] = (byte)'\n';
                value.CopyTo(scratch.AsSpan(joinedLength));
                joinedLength += value.Length;
            }

            lines++;
        }

        if (lines > 1)
        {
            data = scratch.AsSpan(0, joinedLength);
        }

        return lines > 0;
    }

    private static bool TryGetDataValue(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!line.StartsWith("data"u8))
        {
            return false;
        }

        if (line.Length == 4)
        {
            return true;
        }

        if (line[4] != (byte)':')
        {
            return false;
        }

        value = line[5..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        return true;
    }

    /// <summary>Returns the line at <paramref name="position"/>; <paramref name="next"/> is past its CR, LF or CRLF.</summary>
    private static ReadOnlySpan<byte> NextLine(ReadOnlySpan<byte> text, int position, out int next)
    {
        var rest = text[position..];
        var end = rest.IndexOfAny((byte)'\r', (byte)'\n');
        if (end < 0)
        {
            next = text.Length;
            return rest;
        }

        var after = end + 1;
        if (rest[end] == (byte)'\r' && after < rest.Length && rest[after] == (byte)'\n')
        {
            after++;
        }

        next = position + after;
        return rest[..end];
    }

    private static void EnsureScratch(ref byte[]? scratch, int length)
    {
        if (scratch is null || scratch.Length < length)
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            scratch = ArrayPool<byte>.Shared.Rent(length);
        }
    }
}

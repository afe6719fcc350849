namespace Dynamo.Sidecar.Sse;

/// <summary>Extracts the <c>data</c> of a raw SSE event without allocating.</summary>
internal static class SseData
{
    /// <summary>
    /// Finds the event's data. A single <c>data:</c> line (the usual case) is returned as a slice of
    /// <paramref name="rawEvent"/>; several are joined with LF into <paramref name="scratch"/>, which is
    /// grown from the pool when needed (the caller returns it).
    /// </summary>
    /// <param name="singleLineLength">The length of the event's only line, when the framer knows it; else -1.</param>
    /// <returns>False when the event has no data line (a comment, a keep-alive, an <c>id:</c> only).</returns>
    public static bool TryGet(ReadOnlySpan<byte> rawEvent, int singleLineLength, ref byte[]? scratch, out ReadOnlySpan<byte> data)
    {
        if (singleLineLength >= 0)
        {
            return TryGetDataValue(rawEvent[..singleLineLength], out data);
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
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }

            scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        }
    }
}

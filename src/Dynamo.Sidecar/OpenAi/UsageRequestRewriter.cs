namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Splices <c>"include_usage":true</c> into a streaming request body (SPEC §1.3), leaving every other
/// byte as the client wrote it, so the worker reports usage at the end of the stream.
/// </summary>
internal static class UsageRequestRewriter
{
    private static ReadOnlySpan<byte> WholeField => ",\"stream_options\":{\"include_usage\":true}"u8;
    private static ReadOnlySpan<byte> WholeObject => "{\"include_usage\":true}"u8;
    private static ReadOnlySpan<byte> FirstMember => "\"include_usage\":true"u8;
    private static ReadOnlySpan<byte> True => "true"u8;

    /// <summary>The body to send upstream; the original when nothing needs to change.</summary>
    public static ReadOnlyMemory<byte> Rewrite(ReadOnlyMemory<byte> original, in RequestBody body)
    {
        if (!body.Stream || body.ClientWantsUsage)
        {
            return original;
        }

        var options = body.StreamOptions;
        return options.Kind switch
        {
            StreamOptionsKind.Absent => Splice(original.Span, body.RootEnd, body.RootEnd, WholeField),
            StreamOptionsKind.Null => Splice(original.Span, options.Start, options.End, WholeObject),
            StreamOptionsKind.Object when options.IncludeUsage is not null =>
                Splice(original.Span, options.IncludeUsageStart, options.IncludeUsageEnd, True),
            StreamOptionsKind.Object => InsertFirstMember(original.Span, options),
            // A string or number here is the client's mistake; the worker's answer explains it better than we could.
            _ => original,
        };
    }

    private static byte[] InsertFirstMember(ReadOnlySpan<byte> original, in StreamOptionsSpan options)
    {
        var afterBrace = options.Start + 1;
        var isEmpty = original[afterBrace..(options.End - 1)].Trim(" \t\r\n"u8).IsEmpty;
        var result = new byte[original.Length + FirstMember.Length + (isEmpty ? 0 : 1)];
        original[..afterBrace].CopyTo(result);
        FirstMember.CopyTo(result.AsSpan(afterBrace));
        var position = afterBrace + FirstMember.Length;
        if (!isEmpty)
        {
            result[position++] = (byte)',';
        }

        original[afterBrace..].CopyTo(result.AsSpan(position));
        return result;
    }

    private static byte[] Splice(ReadOnlySpan<byte> original, int start, int end, ReadOnlySpan<byte> insert)
    {
        var result = new byte[original.Length - (end - start) + insert.Length];
        original[..start].CopyTo(result);
        insert.CopyTo(result.AsSpan(start));
        original[end..].CopyTo(result.AsSpan(start + insert.Length));
        return result;
    }
}

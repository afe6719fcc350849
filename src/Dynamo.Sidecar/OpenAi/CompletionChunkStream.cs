using System.Buffers;
using System.Text.Unicode;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Reads the chunks of one streamed chat or text completion. A worker writes every chunk of a stream in
/// the same envelope (<c>id</c>, <c>created</c>, <c>model</c>, <c>"logprobs":null</c>, <c>"usage":null</c>…),
/// so consecutive content chunks differ only in their output text. After a full parse of a content chunk
/// this reader keeps the bytes before and after that text: a later chunk made of exactly those bytes around
/// a plain JSON string is the same JSON with another string, so it has the same <see cref="ChunkFacts"/>,
/// and comparing bytes replaces tokenizing them. Any other chunk takes the full parse of
/// <see cref="CompletionChunkReader"/>; the answer is the same either way, only the cost differs.
/// </summary>
internal sealed class CompletionChunkStream : IDisposable
{
    // Real chunks are a few hundred bytes; a chunk too large to keep is simply always parsed.
    private const int MaxShapeBytes = 4096;

    // Bytes that cannot appear as such inside a JSON string (quote, backslash, controls) or need UTF-8 validation.
    private static readonly SearchValues<byte> NotPlainAscii = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\', .. Enumerable.Range(0x80, 0x80).Select(b => (byte)b)]);

    private static readonly SearchValues<byte> StringBreakers = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    // _shape[.._prefixLength] comes before the output text, _shape[_prefixLength.._shapeLength] after it.
    private byte[]? _shape;
    private int _prefixLength;
    private int _shapeLength;
    private ChunkFacts _shapeFacts;

    /// <returns>False when the data is not a JSON object (it is then forwarded, not metered).</returns>
    public bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts)
    {
        if (MatchesShape(json))
        {
            facts = _shapeFacts;
            return true;
        }

        if (!CompletionChunkReader.TryRead(json, out facts, out var outputText))
        {
            return false;
        }

        if (outputText.End.Value > 0 && json.Length <= MaxShapeBytes)
        {
            Remember(json, outputText, facts);
        }

        return true;
    }

    public void Dispose()
    {
        if (_shape is not null)
        {
            ArrayPool<byte>.Shared.Return(_shape);
            _shape = null;
        }

        _shapeLength = 0;
    }

    private bool MatchesShape(ReadOnlySpan<byte> json)
    {
        var suffixLength = _shapeLength - _prefixLength;
        if (_shapeLength == 0 || json.Length <= _shapeLength)
        {
            return false;
        }

        var shape = _shape.AsSpan(0, _shapeLength);
        if (!json.StartsWith(shape[.._prefixLength]) || !json.EndsWith(shape[_prefixLength..]))
        {
            return false;
        }

        // The text must read back as a non-empty string with the same facts: no quote, backslash or control
        // byte, and valid UTF-8 (what the full parse might otherwise reject).
        var text = json[_prefixLength..^suffixLength];
        return text.IndexOfAny(NotPlainAscii) < 0 || (text.IndexOfAny(StringBreakers) < 0 && Utf8.IsValid(text));
    }

    private void Remember(ReadOnlySpan<byte> json, Range outputText, in ChunkFacts facts)
    {
        var (start, length) = outputText.GetOffsetAndLength(json.Length);
        var suffix = json[(start + length)..];
        // Held for the stream's life, so sized to the shape (a few hundred bytes), not to the largest one kept:
        // with hundreds of streams open this is most of what metering adds per stream.
        var needed = start + suffix.Length;
        if (_shape is null || _shape.Length < needed)
        {
            if (_shape is not null)
            {
                ArrayPool<byte>.Shared.Return(_shape);
            }

            _shape = ArrayPool<byte>.Shared.Rent(needed);
        }

        json[..start].CopyTo(_shape);
        suffix.CopyTo(_shape.AsSpan(start));
        _prefixLength = start;
        _shapeLength = start + suffix.Length;
        _shapeFacts = facts;
    }
}

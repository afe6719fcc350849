using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>
/// The simulated model's output: token <c>k</c> of every choice is word <c>k mod N</c> of a fixed list, each
/// with a leading space. Deterministic, so tests can predict the text; pre-encoded, so the token loop only copies.
/// </summary>
internal static class TokenSource
{
    private static readonly string[] Words =
    [
        " The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", " while",
        " simulated", " workers", " stream", " tokens", " to", " eager", " clients", " and", " proxies", " count",
        " every", " single", " one", " of", " them", " carefully", ".",
    ];

    private static readonly JsonEncodedText[] EncodedWords = Array.ConvertAll(Words, word => JsonEncodedText.Encode(word));

    private static readonly byte[][] Utf8Words = Array.ConvertAll(Words, Encoding.UTF8.GetBytes);

    /// <summary>The text of the token at <paramref name="position"/> (0-based) in a choice.</summary>
    public static JsonEncodedText TokenAt(int position) => EncodedWords[position % EncodedWords.Length];

    /// <summary>Writes the UTF-8 text of the first <paramref name="count"/> tokens of a choice.</summary>
    public static void WriteText(int count, IBufferWriter<byte> output)
    {
        for (var position = 0; position < count; position++)
        {
            output.Write(Utf8Words[position % Utf8Words.Length]);
        }
    }
}

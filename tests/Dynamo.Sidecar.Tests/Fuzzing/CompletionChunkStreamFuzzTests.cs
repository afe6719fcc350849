using System.Text;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Differential fuzzing of <see cref="CompletionChunkStream"/>'s shape cache against a full parse of every chunk
/// by <see cref="CompletionChunkReader"/>: whatever the stream held before, each chunk must read exactly as the
/// full parse reads it. The cache only ever decides how much work a chunk costs, never what it means.
/// </summary>
public class CompletionChunkStreamFuzzTests
{
    internal const int RealisticCases = 1_500;
    internal const int TextSwapCases = 1_500;

    private static readonly byte[][] Texts =
    [
        .. new[] { "x", " the", "日本語", "😀", "w\u00f6rld", "\"", "a\"b", "\\", "a\\nb", "\\u0041", "tab\there", "\n", "\u0001", "\u007f", "}],\"x\":\"", "" }
            .Select(Encoding.UTF8.GetBytes),
        [0xFF], [0xC3], [(byte)'a', 0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0x80, (byte)'z'],
    ];

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void RealisticStreams_EveryChunkReadsAsTheFullParseReadsIt(int seed)
    {
        for (var i = 0; i < RealisticCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var endpoint = rng.Chance(0.7) ? MeteredEndpoint.ChatCompletions : MeteredEndpoint.Completions;
            var stream = SseStreamGenerator.Realistic(rng, endpoint, mutate: rng.Chance(0.7), contentChunks: rng.Next(2, 20));
            var chunks = SseOracle.Frame(stream.Bytes).Where(e => e.Data is not null).Select(e => e.Data!).ToList();
            AssertSameAsFullParse(seed, i, chunks);
        }
    }

    /// <summary>Content chunks that keep the envelope and swap the text for anything, or break the envelope by a byte.</summary>
    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void SameEnvelope_AnyTextOrOneByteOff_ReadsAsTheFullParseReadsIt(int seed)
    {
        for (var i = 0; i < TextSwapCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var chat = rng.Chance(0.5);
            var chunks = new List<byte[]>();
            for (var c = rng.Next(2, 30); c > 0; c--)
            {
                var text = rng.Chance(0.2)
                    ? [.. Enumerable.Range(0, rng.Next(1, 6)).Select(_ => (byte)rng.Next(256))]
                    : rng.Pick(Texts);
                var chunk = Chunk(chat, text, finish: rng.Chance(0.1) ? "stop" : null);
                chunks.Add(rng.Chance(0.2) ? Fuzz.MutateBytes(rng, chunk, 1, allowLongLines: false) : chunk);
            }

            AssertSameAsFullParse(seed, i, chunks);
        }
    }

    private static void AssertSameAsFullParse(int seed, int index, List<byte[]> chunks)
    {
        using var reader = new CompletionChunkStream();
        for (var c = 0; c < chunks.Count; c++)
        {
            var expectedRead = CompletionChunkReader.TryRead(chunks[c], out var expected);
            var read = reader.TryRead(chunks[c], out var facts);
            if (read != expectedRead || (read && !facts.Equals(expected)))
            {
                Assert.Fail($"seed {seed}, case {index} (Fuzz.CaseRandom({seed}, {index})), chunk {c}: shape cache {read} {Show(facts)}, "
                    + $"full parse {expectedRead} {Show(expected)}\nprevious: {(c > 0 ? Fuzz.Show(chunks[c - 1]) : "-")}\nthis:     {Fuzz.Show(chunks[c])}");
            }
        }
    }

    private static string Show(ChunkFacts f) => $"(output {f.OutputChoices}, finished {f.Finished}, usage-only {f.IsUsageOnly}, {f.Usage})";

    private static byte[] Chunk(bool chat, byte[] text, string? finish)
    {
        var finishJson = finish is null ? "null" : $"\"{finish}\"";
        var (head, tail) = chat
            ? ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
                $"\"}},\"logprobs\":null,\"finish_reason\":{finishJson}}}],\"usage\":null}}")
            : ("{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"",
                $"\",\"logprobs\":null,\"finish_reason\":{finishJson},\"stop_reason\":null}}],\"usage\":null}}");
        return [.. Encoding.UTF8.GetBytes(head), .. text, .. Encoding.UTF8.GetBytes(tail)];
    }
}

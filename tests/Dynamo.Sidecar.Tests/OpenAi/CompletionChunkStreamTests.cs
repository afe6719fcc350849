using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

/// <summary>
/// The envelope cache answers a chunk that differs from the last content chunk only in its text; a chunk whose
/// envelope differs in anything the meter reads (a finish, a running usage, an error, the choice index) is parsed.
/// </summary>
public class CompletionChunkStreamTests
{
    private const string Head = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";

    private static string Chunk(string text, string finish = "null", string usage = "null", string index = "0", string extra = "") =>
        Head.Replace("\"index\":0", $"\"index\":{index}", StringComparison.Ordinal) + text + $"\"}},\"finish_reason\":{finish}}}],\"usage\":{usage}{extra}}}";

    public static TheoryData<string> ChunksAfterAPlainOne => new()
    {
        Chunk("b"),
        Chunk("b", finish: "\"stop\""),
        Chunk("b", finish: "\"\""),
        Chunk("b", usage: """{"prompt_tokens":3,"completion_tokens":2}"""),
        Chunk("b", usage: """{"prompt_tokens":3,"completion_tokens":3}"""),
        Chunk("b", index: "1"),
        Chunk("b", extra: ""","error":{"code":503}"""),
        Chunk("\"b"),
        Chunk(""),
    };

    [Theory]
    [MemberData(nameof(ChunksAfterAPlainOne))]
    public void AnyChunkAfterAPlainOne_ReadsExactlyAsTheFullParseReadsIt(string next)
    {
        using var stream = new CompletionChunkStream();
        foreach (var earlier in new[] { Chunk("a"), Chunk("a", usage: """{"prompt_tokens":3,"completion_tokens":2}""") })
        {
            Assert.True(stream.TryRead(SseText.Utf8(earlier), out _));
            var parsed = CompletionChunkReader.TryRead(SseText.Utf8(next), out var expected);

            var read = stream.TryRead(SseText.Utf8(next), out var facts);

            Assert.Equal(parsed, read);
            Assert.Equal(expected, facts);
        }
    }

    [Fact]
    public void SameEnvelope_IsServedTheRememberedFacts_OfARunningUsageChunkToo()
    {
        using var stream = new CompletionChunkStream();
        var usage = """{"prompt_tokens":0,"completion_tokens":0}""";
        Assert.True(stream.TryRead(SseText.Utf8(Chunk("a", usage: usage, index: "2")), out _));

        Assert.True(stream.TryRead(SseText.Utf8(Chunk("bcd", usage: usage, index: "2")), out var facts));

        Assert.Equal(1, facts.OutputChoices);
        Assert.Equal(2, facts.ChoiceIndex);
        Assert.Equal(new Usage(0, 0, -1), facts.Usage);
        Assert.False(facts.Finished);
        Assert.Equal(0, facts.ErrorStatusCode);
    }
}

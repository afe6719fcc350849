using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class UnaryUsageReaderTests
{
    private const string ChatCompletion = """
        {
          "id": "chatcmpl-9b1",
          "object": "chat.completion",
          "created": 1718000000,
          "model": "m",
          "choices": [
            {
              "index": 0,
              "message": {"role": "assistant", "content": "Hello, w\u00f6rld! \"quoted\" 日本語 😀", "tool_calls": []},
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {"prompt_tokens": 12, "total_tokens": 17, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 4}},
          "prompt_logprobs": null,
          "kv_transfer_params": null
        }
        """;

    private static Usage Feed(int maxRetainedBytes, params byte[][] pieces)
    {
        using var reader = new UnaryUsageReader(maxRetainedBytes);
        foreach (var piece in pieces)
        {
            reader.Append(piece);
        }

        return reader.Usage;
    }

    private static Usage FeedInPiecesOf(string json, int size, int maxRetainedBytes = 64 * 1024) =>
        Feed(maxRetainedBytes, [.. SseText.Utf8(json).Chunk(size)]);

    [Fact]
    public void ChatCompletion_InOnePiece()
    {
        Assert.Equal(new Usage(12, 5, 4), FeedInPiecesOf(ChatCompletion, int.MaxValue));
    }

    [Fact]
    public void ChatCompletion_SplitAtEveryByteOffset_GivesTheSameUsage()
    {
        var bytes = SseText.Utf8(ChatCompletion);
        for (var k = 0; k <= bytes.Length; k++)
        {
            var usage = Feed(64 * 1024, bytes[..k], bytes[k..]);
            Assert.True(usage == new Usage(12, 5, 4), $"split at {k}: {usage}");
        }
    }

    [Fact]
    public void ChatCompletion_InPiecesOfEverySize_GivesTheSameUsage()
    {
        for (var size = 1; size <= 64; size++)
        {
            var usage = FeedInPiecesOf(ChatCompletion, size);
            Assert.True(usage == new Usage(12, 5, 4), $"pieces of {size}: {usage}");
        }
    }

    [Fact]
    public void UsageBeforeChoices_IsFound()
    {
        const string json = """{"usage":{"prompt_tokens":3,"completion_tokens":2},"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}]}""";

        Assert.Equal(new Usage(3, 2, -1), FeedInPiecesOf(json, 5));
    }

    [Fact]
    public void UsageNestedDeeper_IsNotTheResponsesUsage()
    {
        const string json = """{"choices":[{"usage":{"prompt_tokens":1,"completion_tokens":1}}],"metadata":{"usage":{"prompt_tokens":2}}}""";

        Assert.Equal(Usage.None, FeedInPiecesOf(json, 3));
    }

    [Fact]
    public void NoUsage_IsNone()
    {
        Assert.Equal(Usage.None, FeedInPiecesOf("""{"id":"x","choices":[]}""", 4));
        Assert.Equal(Usage.None, FeedInPiecesOf("""{"id":"x","usage":null}""", 4));
    }

    [Fact]
    public void HugeContentBeyondTheCap_BeforeTheUsage_GivesUp()
    {
        var json = "{\"choices\":[{\"message\":{\"content\":\"" + new string('x', 10_000) + "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";

        Assert.Equal(Usage.None, FeedInPiecesOf(json, 512, maxRetainedBytes: 4096));
    }

    [Fact]
    public void HugeContentBeyondTheCap_AfterTheUsage_KeepsTheUsageAlreadyRead()
    {
        var json = "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2},\"choices\":[{\"message\":{\"content\":\"" + new string('x', 10_000) + "\"}}]}";

        Assert.Equal(new Usage(3, 2, -1), FeedInPiecesOf(json, 512, maxRetainedBytes: 4096));
    }

    [Fact]
    public void LongBodyOfSmallTokens_RetainsOnlyTheUnreadTail_SoASmallCapIsEnough()
    {
        // 3000 floats: far beyond the cap in total, but never more than one token (or the usage object) held back.
        var floats = string.Join(",", Enumerable.Range(0, 3000).Select(i => (i / 3000.0).ToString("F6", System.Globalization.CultureInfo.InvariantCulture)));
        var json = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[""" + floats + """]}],"model":"m","usage":{"prompt_tokens":8,"total_tokens":8}}""";

        Assert.Equal(new Usage(8, -1, -1), FeedInPiecesOf(json, 7, maxRetainedBytes: 1024));
        Assert.Equal(new Usage(8, -1, -1), FeedInPiecesOf(json, 4096, maxRetainedBytes: 1024));
    }

    [Fact]
    public void UsageAfterADeeplyNestedValue_IsFound()
    {
        var deep = new string('[', 200) + new string(']', 200);
        var json = "{\"choices\":[{\"message\":{\"content\":\"x\",\"parsed\":" + deep + "}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";

        Assert.Equal(new Usage(3, 2, -1), FeedInPiecesOf(json, 9));
    }

    [Fact]
    public void ResponsesUnary_InputAndOutputTokens()
    {
        const string json = """{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":13}}""";

        Assert.Equal(new Usage(9, 4, 3, ReasoningTokens: 0), FeedInPiecesOf(json, 11));
    }

    [Fact]
    public void TextCompletion_Usage()
    {
        const string json = """{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":" world","finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":16,"total_tokens":18}}""";

        Assert.Equal(new Usage(2, 16, -1), FeedInPiecesOf(json, 1));
    }

    [Theory]
    [InlineData("""[{"usage":{"prompt_tokens":1}}]""")]
    [InlineData("\"usage\"")]
    [InlineData("not json")]
    [InlineData("""{"id":"x",,"usage":{"prompt_tokens":1}}""")]
    public void NotAJsonObject_IsNone(string body) => Assert.Equal(Usage.None, FeedInPiecesOf(body, 3));

    [Fact]
    public void BytesAfterTheRootObject_AreIgnored()
    {
        const string json = """{"usage":{"prompt_tokens":1,"completion_tokens":1}} {"usage":{"prompt_tokens":9}}""";

        Assert.Equal(new Usage(1, 1, -1), FeedInPiecesOf(json, 6));
    }

    [Fact]
    public void TruncatedBody_KeepsWhatWasRead()
    {
        const string json = """{"usage":{"prompt_tokens":1,"completion_tokens":1},"choices":[{"index":0,"mess""";

        Assert.Equal(new Usage(1, 1, -1), FeedInPiecesOf(json, 6));
    }

    [Fact]
    public void EmptyPieces_AreHarmless()
    {
        var bytes = SseText.Utf8(ChatCompletion);

        Assert.Equal(new Usage(12, 5, 4), Feed(64 * 1024, [], bytes[..100], [], bytes[100..], []));
    }
}

using System.Text.Json;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class UsageRequestRewriterTests
{
    private static (ReadOnlyMemory<byte> Original, ReadOnlyMemory<byte> Result) Rewrite(string json)
    {
        ReadOnlyMemory<byte> original = SseText.Utf8(json);
        Assert.True(RequestBody.TryParse(original.Span, out var body), json);
        return (original, UsageRequestRewriter.Rewrite(original, body));
    }

    private static string RewriteText(string json) => SseText.Text(Rewrite(json).Result.Span);

    /// <summary>The rewritten body as the worker parses it: valid JSON whose stream_options.include_usage is true.</summary>
    private static JsonElement AssertIncludesUsage(string rewritten)
    {
        using var document = JsonDocument.Parse(rewritten);
        var root = document.RootElement.Clone();
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        return root;
    }

    [Theory]
    [InlineData(
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":null}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData(
        """{"model":"m","stream_options" : null ,"stream":true}""",
        """{"model":"m","stream_options" : {"include_usage":true} ,"stream":true}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true}}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{ "continuous_usage_stats" : true }}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true, "continuous_usage_stats" : true }}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{}}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{ }}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true }}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{"include_usage":false}}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true, "include_usage" : false }}""",
        """{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true, "include_usage" : true }}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{"include_usage":null,"x":1}}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true,"x":1}}""")]
    [InlineData(
        """{"model":"m","stream":true,"stream_options":{"include_usage":{"nested":[1,2]},"x":1}}""",
        """{"model":"m","stream":true,"stream_options":{"include_usage":true,"x":1}}""")]
    public void StreamingRequest_WithoutUsage_GetsIncludeUsageSpliced_ExactBytes(string json, string expected)
    {
        var rewritten = RewriteText(json);

        Assert.Equal(expected, rewritten);
        AssertIncludesUsage(rewritten);
    }

    [Fact]
    public void ContinuousUsageStats_IsKept()
    {
        var root = AssertIncludesUsage(RewriteText("""{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true}}"""));

        Assert.True(root.GetProperty("stream_options").GetProperty("continuous_usage_stats").GetBoolean());
    }

    [Fact]
    public void PrettyPrintedBody_EveryOriginalByteIsKept_AndTheFieldAppended()
    {
        const string json = "{\n  \"model\": \"m\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"hi\"}\n  ],\n  \"stream\": true\n}\n";

        var rewritten = RewriteText(json);

        Assert.Equal("{\n  \"model\": \"m\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"hi\"}\n  ],\n  \"stream\": true\n,\"stream_options\":{\"include_usage\":true}}\n", rewritten);
        var root = AssertIncludesUsage(rewritten);
        Assert.Equal("hi", root.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void UnicodeEscapesAndRawUtf8_AreKeptByteForByte()
    {
        const string json = """{"model":"caf\u00e9","messages":[{"role":"user","content":"\ud83d\ude00 \"hi\" \\ \/ é 日本"}],"stream":true}""";

        var rewritten = RewriteText(json);

        Assert.Equal(json[..^1] + ""","stream_options":{"include_usage":true}}""", rewritten);
        AssertIncludesUsage(rewritten);
    }

    [Fact]
    public void AppendedField_IsTheOnlyChange_AllOtherBytesInOrder()
    {
        const string json = """{"model":"m","temperature":0.7,"max_tokens":64,"stream":true,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"user":"u"}""";
        var (original, result) = Rewrite(json);

        var insert = ",\"stream_options\":{\"include_usage\":true}"u8;
        Assert.Equal(original.Length + insert.Length, result.Length);
        Assert.True(result.Span[..(original.Length - 1)].SequenceEqual(original.Span[..^1]));
        Assert.True(result.Span[(original.Length - 1)..^1].SequenceEqual(insert));
        Assert.Equal((byte)'}', result.Span[^1]);
    }

    [Theory]
    [InlineData("""{"model":"m","stream":true,"stream_options":{"include_usage":true}}""")]
    [InlineData("""{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true,"include_usage":true}}""")]
    [InlineData("""{"model":"m","stream":false}""")]
    [InlineData("""{"model":"m"}""")]
    [InlineData("""{"model":"m","stream":false,"stream_options":{"include_usage":false}}""")]
    [InlineData("""{"model":"m","stream":"true"}""")]
    [InlineData("""{"model":"m","stream":true,"stream_options":"include_usage"}""")]
    [InlineData("""{"model":"m","stream":true,"stream_options":[]}""")]
    [InlineData("""{"model":"m","stream":true,"stream_options":1}""")]
    public void NothingToChange_ReturnsTheOriginalMemory(string json)
    {
        var (original, result) = Rewrite(json);

        Assert.True(original.Equals(result), "expected the very same memory back");
    }

    [Fact]
    public void ResultLength_MatchesTheBytes_SoContentLengthIsExact()
    {
        string[] bodies =
        [
            """{"stream":true}""",
            """{"stream":true,"stream_options":null}""",
            """{"stream":true,"stream_options":{}}""",
            """{"stream":true,"stream_options":{"a":1}}""",
            """{"stream":true,"stream_options":{"include_usage":false}}""",
        ];
        foreach (var json in bodies)
        {
            var (_, result) = Rewrite(json);
            var expected = SseText.Utf8(SseText.Text(result.Span));
            Assert.Equal(expected.Length, result.Length);
            AssertIncludesUsage(SseText.Text(result.Span));
        }
    }
}

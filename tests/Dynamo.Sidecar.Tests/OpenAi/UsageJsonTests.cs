using System.Text.Json;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class UsageJsonTests
{
    private static (Usage Usage, JsonTokenType After, long Consumed) Read(string json)
    {
        var reader = new Utf8JsonReader(SseText.Utf8(json));
        Assert.True(reader.Read());
        var usage = UsageJson.Read(ref reader);
        return (usage, reader.TokenType, reader.BytesConsumed);
    }

    [Theory]
    [InlineData("""{"prompt_tokens":12,"total_tokens":17,"completion_tokens":5}""", 12, 5, -1)]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4}}""", 12, 5, 4)]
    [InlineData("""{"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":4},"completion_tokens":5,"prompt_tokens":12}""", 12, 5, 4)]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":null}""", 12, 5, -1)]
    [InlineData("""{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{}}""", 12, 5, -1)]
    [InlineData("""{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":13}""", 9, 4, 3, 1)]
    [InlineData("""{"prompt_tokens":8,"total_tokens":8}""", 8, -1, -1)]
    [InlineData("""{"completion_tokens":0}""", -1, 0, -1)]
    [InlineData("""{"prompt_tokens":-1,"completion_tokens":1.5}""", -1, -1, -1)]
    [InlineData("""{"prompt_tokens":"12","completion_tokens":null}""", -1, -1, -1)]
    [InlineData("""{"prompt_tokens":99999999999999999999,"completion_tokens":3}""", -1, 3, -1)]
    [InlineData("""{"completion_tokens_details":{"reasoning_tokens":3,"cached_tokens":7},"prompt_tokens":1}""", 1, -1, -1, 3)]
    [InlineData("""{"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":"3"},"prompt_tokens_details":{"reasoning_tokens":2}}""", -1, 9, -1)]
    [InlineData("""{"completion_tokens_details":{"reasoning_tokens":3},"completion_tokens_details":null}""", -1, -1, -1)]
    [InlineData("""{}""", -1, -1, -1)]
    public void ReadsAllSpellings(string json, long prompt, long completion, long cached, long reasoning = -1)
    {
        var (usage, after, consumed) = Read(json);

        Assert.Equal(new Usage(prompt, completion, cached, reasoning), usage);
        Assert.Equal(JsonTokenType.EndObject, after);
        Assert.Equal(json.Length, consumed);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("7")]
    [InlineData("\"usage\"")]
    [InlineData("[{\"prompt_tokens\":1}]")]
    public void NotAnObject_IsNone_AndSkipped(string json)
    {
        var (usage, _, consumed) = Read(json);

        Assert.Equal(Usage.None, usage);
        Assert.False(usage.IsReported);
        Assert.Equal(json.Length, consumed);
    }

    [Theory]
    [InlineData("""{"prompt_tokens":{"n":12},"completion_tokens":5}""")]
    [InlineData("""{"prompt_tokens":[12],"completion_tokens":5}""")]
    public void CountOfTheWrongShape_IsIgnored_AndTheRestOfTheUsageIsStillRead(string json)
    {
        var (usage, after, consumed) = Read(json);

        Assert.Equal(new Usage(-1, 5, -1), usage);
        Assert.Equal(JsonTokenType.EndObject, after);
        Assert.Equal(json.Length, consumed);
    }

    [Fact]
    public void CountOfTheWrongShape_InAStreamedChunk_DoesNotDesynchroniseTheChunkReader()
    {
        // After the usage object the reader must be back at the chunk's own level.
        const string json = """{"usage":{"prompt_tokens":{"choices":[]},"completion_tokens":5},"choices":[{"index":0,"delta":{"content":"a"}}]}""";

        Assert.True(CompletionChunkReader.TryRead(SseText.Utf8(json), out var facts));

        Assert.Equal(1, facts.OutputChoices);
        Assert.Equal(5, facts.Usage.CompletionTokens);
    }

    [Theory]
    [InlineData(12, -1, true)]
    [InlineData(-1, 0, true)]
    [InlineData(-1, -1, false)]
    public void IsReported_WhenEitherCountIsThere(long prompt, long completion, bool reported) =>
        Assert.Equal(reported, new Usage(prompt, completion, 5).IsReported);
}

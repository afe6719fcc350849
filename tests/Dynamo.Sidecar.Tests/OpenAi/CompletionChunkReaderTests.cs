using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class CompletionChunkReaderTests
{
    private static readonly VllmStream ChatChunks = new(MeteredStream.Model);

    private static ChunkFacts Read(string json)
    {
        Assert.True(CompletionChunkReader.TryRead(SseText.Utf8(json), out var facts), json);
        return facts;
    }

    [Fact]
    public void ContentChunk_OneChoiceWithOutput()
    {
        var facts = Read(ChatChunks.Content("Hello"));

        Assert.Equal(1, facts.OutputChoices);
        Assert.False(facts.Finished);
        Assert.False(facts.IsUsageOnly);
        Assert.Equal(Usage.None, facts.Usage);
    }

    [Fact]
    public void RoleChunk_IsNotOutput()
    {
        var facts = Read(ChatChunks.Role());

        Assert.Equal(0, facts.OutputChoices);
        Assert.False(facts.Finished);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("length")]
    [InlineData("tool_calls")]
    public void FinishReason_MarksTheChunkFinished(string reason)
    {
        var facts = Read(ChatChunks.Finish(reason: reason));

        Assert.True(facts.Finished);
        Assert.Equal(0, facts.OutputChoices);
    }

    [Fact]
    public void FinishReasonOnAContentChunk_IsBothOutputAndFinished()
    {
        var facts = Read("""{"choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}]}""");

        Assert.Equal(1, facts.OutputChoices);
        Assert.True(facts.Finished);
    }

    [Fact]
    public void UsageOnlyChunk_IsRecognised_WithItsUsage()
    {
        var facts = Read(ChatChunks.UsageOnly(12, 5, cached: 4));

        Assert.True(facts.IsUsageOnly);
        Assert.Equal(0, facts.OutputChoices);
        Assert.Equal(new Usage(12, 5, 4), facts.Usage);
    }

    [Fact]
    public void UsageBeforeChoices_IsStillAUsageOnlyChunk()
    {
        var facts = Read("""{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":2},"choices":[],"object":"chat.completion.chunk"}""");

        Assert.True(facts.IsUsageOnly);
        Assert.Equal(new Usage(3, 2, -1), facts.Usage);
    }

    [Theory]
    [InlineData("""{"choices":[],"usage":null}""")]
    [InlineData("""{"choices":[]}""")]
    [InlineData("""{"usage":{"prompt_tokens":3,"completion_tokens":2}}""")]
    [InlineData("""{"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":2}}""")]
    [InlineData("""{"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}""")]
    public void NotAUsageOnlyChunk(string json) => Assert.False(Read(json).IsUsageOnly);

    [Fact]
    public void UsageNullOnEveryChunk_IsNotReported()
    {
        // OpenAI (and vLLM) send "usage": null on each chunk when include_usage is on.
        var facts = Read(ChatChunks.Content("a", usage: "null"));

        Assert.Equal(1, facts.OutputChoices);
        Assert.False(facts.Usage.IsReported);
    }

    [Fact]
    public void ContinuousUsageOnAContentChunk_IsRead()
    {
        var facts = Read(ChatChunks.Content("a", usage: ChatChunks.Usage(10, 3)));

        Assert.Equal(1, facts.OutputChoices);
        Assert.False(facts.IsUsageOnly);
        Assert.Equal(new Usage(10, 3, -1), facts.Usage);
    }

    [Fact]
    public void SeveralChoices_EachWithOutput_AreCounted()
    {
        var facts = Read("""{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"role":"assistant"}},{"index":2,"delta":{"reasoning_content":"b"}},{"index":3,"delta":{"tool_calls":[{"index":0}]},"finish_reason":null}]}""");

        Assert.Equal(3, facts.OutputChoices);
        Assert.False(facts.Finished);
    }

    [Theory]
    [InlineData("""{"choices":[{"index":0,"text":"Hello","logprobs":null,"finish_reason":null}],"object":"text_completion"}""", 1, false)]
    [InlineData("""{"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length"}],"object":"text_completion"}""", 0, true)]
    [InlineData("""{"choices":[{"index":0,"text":null}]}""", 0, false)]
    [InlineData("""{"choices":[{"index":0,"text":"a"},{"index":1,"text":"b"}]}""", 2, false)]
    public void CompletionsChunks_TextIsOutput(string json, int outputChoices, bool finished)
    {
        var facts = Read(json);

        Assert.Equal(outputChoices, facts.OutputChoices);
        Assert.Equal(finished, facts.Finished);
    }

    [Theory]
    [InlineData("""{"content":"x"}""", 1)]
    [InlineData("""{"content":" "}""", 1)]
    [InlineData("""{"content":"\u0000"}""", 1)]
    [InlineData("""{"content":""}""", 0)]
    [InlineData("""{"content":null}""", 0)]
    [InlineData("""{"content":5}""", 0)]
    [InlineData("""{"content":["a"]}""", 0)]
    [InlineData("""{"reasoning_content":"think"}""", 1)]
    [InlineData("""{"reasoning":"think"}""", 1)]
    [InlineData("""{"reasoning_content":null,"content":"x"}""", 1)]
    [InlineData("""{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}""", 1)]
    [InlineData("""{"tool_calls":[]}""", 0)]
    [InlineData("""{"tool_calls":null}""", 0)]
    [InlineData("""{"tool_calls":{"index":0}}""", 0)]
    [InlineData("""{"role":"assistant"}""", 0)]
    [InlineData("""{"role":"assistant","content":"","tool_calls":[]}""", 0)]
    [InlineData("""{"refusal":null,"content":"x","extra":{"content":""}}""", 1)]
    [InlineData("""{"extra":{"content":"x"}}""", 0)]
    [InlineData("null", 0)]
    [InlineData("\"content\"", 0)]
    public void DeltaOutput(string delta, int outputChoices) =>
        Assert.Equal(outputChoices, Read(ChatChunks.Delta(delta)).OutputChoices);

    [Fact]
    public void FieldsAfterChoicesAndUsage_DoNotConfuseTheReader()
    {
        var facts = Read("""{"choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.1,"top_logprobs":[]}]},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1},"system_fingerprint":"fp","service_tier":null}""");

        Assert.Equal(1, facts.OutputChoices);
        Assert.Equal(new Usage(1, 1, -1), facts.Usage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[DONE]")]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("42")]
    [InlineData("{")]
    [InlineData("""{"choices":[{"delta":{"content":"x"}""")]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":1,}}""")]
    [InlineData("not json")]
    public void NotAJsonObject_IsNotRead(string data)
    {
        Assert.False(CompletionChunkReader.TryRead(SseText.Utf8(data), out var facts));
        Assert.Equal(0, facts.OutputChoices);
        Assert.False(facts.IsUsageOnly);
        Assert.Equal(Usage.None, facts.Usage);
    }
}

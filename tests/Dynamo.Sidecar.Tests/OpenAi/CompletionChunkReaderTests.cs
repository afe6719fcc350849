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

    [Theory]
    [InlineData("\"\"", false)]
    [InlineData("\"stop\"", true)]
    [InlineData("\"length\"", true)]
    [InlineData("null", false)]
    [InlineData("0", false)]
    [InlineData("{\"reason\":\"stop\"}", false)]
    public void OnlyANonEmptyStringFinishReason_IsAFinish(string finishReason, bool finished)
    {
        // TGI writes "finish_reason":"" on every chunk until the real one.
        var facts = Read($$"""{"object":"text_completion","choices":[{"index":0,"text":"a","finish_reason":{{finishReason}}}]}""");

        Assert.Equal(finished, facts.Finished);
        Assert.Equal(1, facts.OutputChoices);
    }

    [Theory]
    [InlineData("""{"choices":[{"index":3,"delta":{"content":"a"}}]}""", 3)]
    [InlineData("""{"choices":[{"delta":{"content":"a"},"index":1}]}""", 1)]
    [InlineData("""{"choices":[{"delta":{"content":"a"}}]}""", 0)]
    [InlineData("""{"choices":[{"index":-1,"delta":{"content":"a"}}]}""", -1)]
    [InlineData("""{"choices":[{"index":"1","delta":{"content":"a"}}]}""", -1)]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}""", -1)]
    [InlineData("""{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}""", -1)]
    [InlineData("""{"choices":[7]}""", -1)]
    [InlineData("""{"usage":null}""", -1)]
    public void ChoiceIndex_IsTheOnlyChoicesIndex(string json, int index) => Assert.Equal(index, Read(json).ChoiceIndex);

    [Theory]
    [InlineData("""{"error":{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}}""", 400)]
    [InlineData("""{"error":{"object":"error","message":"x","type":"InternalServerError","param":null,"code":500}}""", 500)]
    [InlineData("""{"error":{"message":"busy","type":"overloaded_error","code":"529"}}""", 529)]
    [InlineData("""{"error":{"message":"slow down","type":"rate_limit_error"}}""", 429)]
    [InlineData("""{"error":{"message":"gone","type":"not_found_error","code":null}}""", 404)]
    [InlineData("""{"error":{"message":"x","type":"invalid_request_error","code":"context_length_exceeded"}}""", 400)]
    [InlineData("""{"error":{"message":"x","http_status_code":503}}""", 503)]
    [InlineData("""{"error":{"message":"x","status_code":"422"}}""", 422)]
    [InlineData("""{"error":{"code":200,"type":"invalid_request_error"}}""", 400)]
    [InlineData("""{"error":{"code":600}}""", 500)]
    [InlineData("""{"error":{}}""", 500)]
    [InlineData("""{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}""", 500)]
    [InlineData("""{"error":""}""", 0)]
    [InlineData("""{"error":null,"choices":[{"index":0,"delta":{"content":"a"}}]}""", 0)]
    [InlineData("""{"error":[1]}""", 0)]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"a"},"error":{"code":500}}]}""", 0)]
    public void TopLevelError_IsReadAsTheStatusItStandsFor(string json, int status) => Assert.Equal(status, Read(json).ErrorStatusCode);

    [Fact]
    public void ErrorChunkWithEmptyChoicesAndUsage_IsNotTheUsageOnlyChunk()
    {
        var facts = Read("""{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2},"error":{"message":"x","code":500}}""");

        Assert.False(facts.IsUsageOnly);
        Assert.Equal(500, facts.ErrorStatusCode);
        Assert.Equal(new Usage(3, 2, -1), facts.Usage);
    }

    [Fact]
    public void ReasoningTokens_AreReadFromCompletionTokensDetails()
    {
        var facts = Read("""{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":20,"completion_tokens_details":{"reasoning_tokens":12}}}""");

        Assert.Equal(new Usage(3, 20, -1, ReasoningTokens: 12), facts.Usage);
    }
}

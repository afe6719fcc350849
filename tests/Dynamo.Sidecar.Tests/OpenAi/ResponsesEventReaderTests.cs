using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.OpenAi;

public class ResponsesEventReaderTests
{
    private static ChunkFacts Read(string json)
    {
        Assert.True(ResponsesEventReader.TryRead(SseText.Utf8(json), out var facts), json);
        return facts;
    }

    [Theory]
    [InlineData("""{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}""")]
    [InlineData("""{"delta":"Hi","type":"response.output_text.delta"}""")]
    [InlineData("""{"type":"response.function_call_arguments.delta","item_id":"fc_1","output_index":0,"delta":"{\"a\":"}""")]
    [InlineData("""{"type":"response.reasoning_text.delta","delta":"thinking"}""")]
    public void DeltaEventsWithText_AreOutput(string json)
    {
        var facts = Read(json);

        Assert.Equal(1, facts.OutputChoices);
        Assert.False(facts.Finished);
        Assert.False(facts.IsUsageOnly);
    }

    [Theory]
    [InlineData("""{"type":"response.output_text.delta","delta":""}""")]
    [InlineData("""{"type":"response.output_text.delta","delta":null}""")]
    [InlineData("""{"type":"response.output_text.delta"}""")]
    [InlineData("""{"type":"response.output_text.done","text":"Hi there"}""")]
    [InlineData("""{"type":"response.created","response":{"id":"r","status":"in_progress","usage":null}}""")]
    [InlineData("""{"type":"response.in_progress","response":{"id":"r"}}""")]
    [InlineData("""{"type":"response.output_item.added","item":{"type":"message","content":[]}}""")]
    [InlineData("""{"type":"response.content_part.added","part":{"type":"output_text","text":""}}""")]
    [InlineData("""{"type":"response.output_text.delta.extra","delta":"x"}""")]
    [InlineData("""{"type":7,"delta":"x"}""")]
    [InlineData("""{"delta":"x"}""")]
    public void OtherEvents_AreNotOutput(string json)
    {
        var facts = Read(json);

        Assert.Equal(0, facts.OutputChoices);
        Assert.False(facts.Usage.IsReported);
    }

    [Fact]
    public void ResponseCompleted_CarriesUsage_AndEndsTheStream()
    {
        var facts = Read("""{"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":13}}}""");

        Assert.True(facts.Finished);
        Assert.Equal(new Usage(9, 4, 3, ReasoningTokens: 1), facts.Usage);
        Assert.True(facts.UsageIsRequestTotal);
        Assert.Equal(0, facts.OutputChoices);
        Assert.False(facts.IsUsageOnly);
    }

    [Fact]
    public void ResponseIncomplete_IsANormalEnd_WithUsage()
    {
        var facts = Read("""{"response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":2,"output_tokens":16}},"type":"response.incomplete"}""");

        Assert.True(facts.Finished);
        Assert.Equal(new Usage(2, 16, -1), facts.Usage);
    }

    [Fact]
    public void ResponseFailed_IsNotANormalEnd()
    {
        var facts = Read("""{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error"},"usage":null}}""");

        Assert.False(facts.Finished);
        Assert.False(facts.Usage.IsReported);
        Assert.Equal(500, facts.ErrorStatusCode);
    }

    [Theory]
    [InlineData("""{"type":"response.failed","sequence_number":7,"response":{"status":"failed","error":{"code":"rate_limit_exceeded","message":"x"}}}""", 500)]
    [InlineData("""{"response":{"status":"failed","error":{"code":429,"message":"x"}},"type":"response.failed"}""", 429)]
    [InlineData("""{"type":"response.failed","response":{"status":"failed","error":null}}""", 500)]
    [InlineData("""{"type":"error","code":"ERR_SOMETHING","message":"x","param":null,"sequence_number":3}""", 500)]
    [InlineData("""{"type":"error","code":"503","message":"x"}""", 503)]
    [InlineData("""{"type":"error","error":{"type":"invalid_request_error","message":"x"}}""", 400)]
    [InlineData("""{"error":{"object":"error","message":"x","type":"BadRequestError","code":400}}""", 400)]
    [InlineData("""{"type":"response.completed","response":{"status":"completed","error":null,"usage":{"input_tokens":1,"output_tokens":1}}}""", 0)]
    [InlineData("""{"type":"response.output_text.delta","delta":"error","code":500}""", 0)]
    [InlineData("""{"type":"response.in_progress","response":{"error":{"code":500}}}""", 0)]
    public void FailedAndErrorEvents_AreStreamErrors(string json, int status) => Assert.Equal(status, Read(json).ErrorStatusCode);

    [Fact]
    public void UsageOutsideTheResponseObject_IsIgnored()
    {
        var facts = Read("""{"type":"response.completed","usage":{"input_tokens":1,"output_tokens":1},"response":{"id":"r","metadata":{"usage":{"input_tokens":5}}}}""");

        Assert.True(facts.Finished);
        Assert.False(facts.Usage.IsReported);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[DONE]")]
    [InlineData("[{\"type\":\"response.completed\"}]")]
    [InlineData("""{"type":"response.output_text.delta","delta":"x""")]
    public void NotAJsonObject_IsNotRead(string data)
    {
        Assert.False(ResponsesEventReader.TryRead(SseText.Utf8(data), out var facts));
        Assert.Equal(0, facts.OutputChoices);
        Assert.False(facts.Finished);
    }
}

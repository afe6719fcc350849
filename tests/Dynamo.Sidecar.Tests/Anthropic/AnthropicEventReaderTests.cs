using Dynamo.Sidecar.Anthropic;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Anthropic;

public class AnthropicEventReaderTests
{
    private readonly AnthropicEventReader _reader = new(inputIncludesCached: false);

    private ChunkFacts Read(string json) => Read(_reader, json);

    private static ChunkFacts Read(AnthropicEventReader reader, string json)
    {
        Assert.True(reader.TryRead(SseText.Utf8(json), out var facts), json);
        return facts;
    }

    [Fact]
    public void Generation_EachEventSaysWhatTheMeterNeeds()
    {
        var facts = MessagesStream.Generation.Select(Read).ToList();

        // ISL = input + cache reads + cache writes; cached = cache reads; output = the running output_tokens.
        Assert.Equal(new Usage(135, 1, 100), facts[0].Usage);
        Assert.True(facts[0].UsageIsRequestTotal);
        Assert.Equal([0, 0, 0, 1, 1, 1, 0, 0, 0], facts.Select(f => f.OutputChoices));
        Assert.All(facts.Where((_, i) => i is not (0 or 7)), f => Assert.False(f.Usage.IsReported));
        // message_delta reports only output_tokens: input and cache figures from message_start stand.
        Assert.Equal(new Usage(135, 3, 100), facts[7].Usage);
        Assert.True(facts[7].UsageIsRequestTotal);
        Assert.Equal([false, false, false, false, false, false, false, false, true], facts.Select(f => f.Finished));
        Assert.All(facts, f => Assert.Equal(0, f.ErrorStatusCode));
        Assert.All(facts, f => Assert.False(f.IsUsageOnly));
    }

    [Theory]
    [InlineData("""{"type":"text_delta","text":"Hi"}""", 1)]
    [InlineData("""{"text":"Hi","type":"text_delta"}""", 1)]
    [InlineData("""{"type":"text_delta","text":""}""", 0)]
    [InlineData("""{"type":"text_delta","text":null}""", 0)]
    [InlineData("""{"type":"text_delta"}""", 0)]
    [InlineData("""{"type":"thinking_delta","thinking":"Let me see"}""", 1)]
    [InlineData("""{"type":"thinking_delta","thinking":""}""", 0)]
    [InlineData("""{"type":"thinking_delta","text":"x"}""", 0)]
    [InlineData("""{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}""", 1)]
    [InlineData("""{"type":"input_json_delta","partial_json":""}""", 0)]
    [InlineData("""{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA"}""", 0)]
    [InlineData("""{"type":"citations_delta","citation":{"type":"char_location"}}""", 0)]
    [InlineData("""{"type":"t\u0065xt_delta","text":"x"}""", 1)]
    [InlineData("""{"type":7,"text":"x"}""", 0)]
    [InlineData("\"text_delta\"", 0)]
    [InlineData("null", 0)]
    public void ContentBlockDelta_IsContent_OnlyForTextThinkingAndToolInput(string delta, int output) =>
        Assert.Equal(output, Read($$"""{"type":"content_block_delta","index":0,"delta":{{delta}}}""").OutputChoices);

    [Theory]
    [InlineData("""{"type":"message_delta","delta":{"type":"text_delta","text":"x"},"usage":{"output_tokens":1}}""")]
    [InlineData("""{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"x"}}""")]
    [InlineData("""{"delta":{"type":"text_delta","text":"x"}}""")]
    [InlineData("""{"type":"ping"}""")]
    public void OtherEvents_AreNotContent(string json) => Assert.Equal(0, Read(json).OutputChoices);

    [Fact]
    public void LaterCumulativeUsage_OverridesEachFigureItReports()
    {
        Read(MessagesStream.MessageStart("""{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}"""));

        var facts = Read(MessagesStream.MessageDelta("""{"input_tokens":30,"cache_read_input_tokens":0,"output_tokens":12}"""));

        Assert.Equal(new Usage(40, 12, 0), facts.Usage);
    }

    [Theory]
    [InlineData("""{"input_tokens":12,"output_tokens":1}""", 12, -1)]
    [InlineData("""{"cache_read_input_tokens":64,"output_tokens":1}""", 64, 64)]
    [InlineData("""{"input_tokens":5,"cache_creation_input_tokens":null,"cache_read_input_tokens":3}""", 8, 3)]
    [InlineData("""{"input_tokens":"5","cache_read_input_tokens":-3,"output_tokens":1}""", -1, -1)]
    [InlineData("""{"output_tokens":1,"server_tool_use":{"web_search_requests":1},"service_tier":"standard"}""", -1, -1)]
    [InlineData("""{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807}""", long.MaxValue, long.MaxValue)]
    public void MissingFiguresCountZero_AndCountsOfTheWrongShapeAreNotReported(string usage, long input, long cached)
    {
        var facts = Read(MessagesStream.MessageStart(usage));

        Assert.Equal(input, facts.Usage.PromptTokens);
        Assert.Equal(cached, facts.Usage.CachedTokens);
    }

    [Fact]
    public void InputIncludesCached_IslIsInputPlusCacheWrites()
    {
        var reader = new AnthropicEventReader(inputIncludesCached: true);

        var start = Read(reader, MessagesStream.MessageStart("""{"input_tokens":125,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}"""));
        var delta = Read(reader, MessagesStream.MessageDelta("""{"output_tokens":3}"""));

        Assert.Equal(new Usage(135, 1, 100), start.Usage);
        Assert.Equal(new Usage(135, 3, 100), delta.Usage);
    }

    [Theory]
    [InlineData(MessagesStream.OverloadedError, 529)]
    [InlineData("""{"type":"error","error":{"type":"rate_limit_error","message":"x"}}""", 429)]
    [InlineData("""{"type":"error","error":{"type":"invalid_request_error","message":"x"}}""", 400)]
    [InlineData("""{"type":"error","error":{"type":"not_found_error","message":"x"}}""", 404)]
    [InlineData("""{"type":"error","error":{"type":"api_error","message":"x"}}""", 500)]
    [InlineData("""{"type":"error","error":{"type":"api_error","message":"x","code":503}}""", 503)]
    [InlineData("""{"type":"error"}""", 500)]
    [InlineData("""{"error":{"object":"error","message":"x","type":"BadRequestError","param":null,"code":400}}""", 400)]
    [InlineData("""{"type":"message_stop","error":null}""", 0)]
    public void ErrorEvent_IsAStreamError_ByItsCodeElseItsType(string json, int status)
    {
        var facts = Read(json);

        Assert.Equal(status, facts.ErrorStatusCode);
        Assert.Equal(0, facts.OutputChoices);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[DONE]")]
    [InlineData("[]")]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("""{"type":"message_delta","usage":{"input_tokens":999,"output_tokens":999}""")]
    [InlineData("""{"type":"message_delta","usage":{"input_tokens":999,"output_tokens":999}} trailing""")]
    [InlineData("""{"type":"message_delta","usage":{"input_tokens":999}}{"type":"ping"}""")]
    public void Garbage_IsNotRead_AndChangesNothing(string data)
    {
        Read(MessagesStream.MessageStart("""{"input_tokens":25,"output_tokens":1}"""));

        Assert.False(_reader.TryRead(SseText.Utf8(data), out var facts));
        Assert.Equal(ChunkFacts.None, facts);
        Assert.Equal(new Usage(25, 4, -1), Read(MessagesStream.MessageDelta("""{"output_tokens":4}""")).Usage);
    }

    [Fact]
    public void ReadingEvents_AllocatesNothing()
    {
        byte[][] events = [.. MessagesStream.Generation.Select(SseText.Utf8), SseText.Utf8(MessagesStream.OverloadedError)];
        for (var i = 0; i < 100; i++)
        {
            ReadAll(events);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            ReadAll(events);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private void ReadAll(byte[][] events)
    {
        foreach (var data in events)
        {
            _reader.TryRead(data, out _);
        }
    }
}

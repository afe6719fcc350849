using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Sse;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Anthropic;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

public class StreamedResponseMeterTests
{
    private static readonly VllmStream Chunks = new(MeteredStream.Model);

    private readonly SidecarMetrics _metrics = MeteredStream.NewMetrics();

    private (RequestMeter Meter, StreamedResponseMeter Observer) Create(bool removeUsageChunk, MeteredEndpoint endpoint = MeteredEndpoint.ChatCompletions)
    {
        var meter = new RequestMeter(_metrics, new ManualTimeProvider(), "m", endpoint, isStream: true);
        return (meter, new StreamedResponseMeter(meter, removeUsageChunk));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void UsageOnlyChunk_IsRemovedOnlyWhenAsked_ButAlwaysMetered(bool removeUsageChunk, bool kept)
    {
        var (meter, observer) = Create(removeUsageChunk);
        using var _ = observer;

        Assert.Equal(kept, observer.OnEvent(new SseEvent(SseText.Utf8(SseText.Event("\n", Chunks.UsageOnly(7, 3, cached: 2))))));
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal((1, 7), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 2), scrape.Histogram("cached_sequence_length"));
    }

    [Theory]
    [InlineData("data: [DONE]\n\n")]
    [InlineData("data:[DONE]\r\n\r\n")]
    [InlineData("data: [DONE]")]
    public void Done_IsKept_AndEndsTheStreamWell(string rawEvent)
    {
        var (meter, observer) = Create(removeUsageChunk: true);

        Assert.True(observer.OnEvent(new SseEvent(SseText.Utf8(rawEvent))));
        Assert.True(meter.EndedWell);
    }

    [Theory]
    [InlineData(": ping\n\n")]
    [InlineData("\n")]
    [InlineData("event: x\nid: 1\n\n")]
    [InlineData("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}\n\n")]
    public void EventsThatAreNotChunks_AreKept_AndChangeNothing(string rawEvent)
    {
        var (meter, observer) = Create(removeUsageChunk: true);

        Assert.True(observer.OnEvent(new SseEvent(SseText.Utf8(rawEvent))));
        Assert.False(meter.EndedWell);
        meter.Complete(RequestOutcome.Success);
        Assert.False(MetricsScrape.Of(_metrics.Registry).Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public void ResponsesEvents_AreNeverRemoved()
    {
        var (meter, observer) = Create(removeUsageChunk: true, MeteredEndpoint.Responses);

        // Read as a Responses event, a chat usage-only chunk is just an event without a type.
        Assert.True(observer.OnEvent(new SseEvent(SseText.Utf8(SseText.Event("\n", Chunks.UsageOnly(7, 3))))));
        Assert.True(observer.OnEvent(new SseEvent(SseText.Utf8("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"))));
        Assert.True(meter.EndedWell);
    }

    [Fact]
    public void Dispose_ReturnsTheScratch_AndIsRepeatable()
    {
        var (_, observer) = Create(removeUsageChunk: true);
        Assert.True(observer.OnEvent(new SseEvent("data: {\"choices\":\ndata: []}\n\n"u8)));

        observer.Dispose();
        observer.Dispose();
    }

    /// <summary>Reads the stream one client read at a time and scrapes output_tokens_total after each.</summary>
    private static (string Client, List<double> LiveCounts) ReadScrapingEachRead(MeteredStream metered)
    {
        var client = new List<byte>();
        var live = new List<double>();
        var buffer = new byte[4096];
        int read;
        while ((read = metered.Stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            client.AddRange(buffer.AsSpan(0, read));
            live.Add(metered.Scrape().Value("output_tokens_total", ("model", "m")));
        }

        return (SseText.Text([.. client]), live);
    }

    private static ChunkedReadStream OneEventPerRead(IEnumerable<string> data, ManualTimeProvider time, double secondsBeforeEachRead)
    {
        var upstream = ChunkedReadStream.OfPieces([.. data.Select(d => SseText.Utf8(SseText.Event("\n", d)))]);
        upstream.BeforeRead = _ => time.AdvanceSeconds(secondsBeforeEachRead);
        return upstream;
    }

    private const string TgiHead = "{\"id\":\"\",\"object\":\"text_completion\",\"created\":1730000000,\"model\":\"m\",\"system_fingerprint\":\"2.4.1-native\",\"choices\":[{\"index\":0,\"text\":";

    private static string TgiChunk(string text, string finishReason) =>
        TgiHead + System.Text.Json.JsonSerializer.Serialize(text) + ",\"logprobs\":null,\"finish_reason\":\"" + finishReason + "\"}]}";

    [Fact]
    public void TgiCompletions_EmptyFinishReasonIsNoFinish_AStreamClosedWithoutARealOneDoesNotEndWell()
    {
        var body = SseText.Events("\n", TgiChunk("The", ""), TgiChunk(" sky", ""), TgiChunk(" is", ""));
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 40), endpoint: MeteredEndpoint.Completions);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        Assert.False(metered.Meter.EndedWell);
        Assert.Equal(3, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void TgiCompletions_ANonEmptyFinishReason_EndsWell()
    {
        var body = SseText.Events("\n", TgiChunk("The", ""), TgiChunk(" sky", "length"));
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 40), endpoint: MeteredEndpoint.Completions);

        metered.ReadAllAndComplete();

        Assert.True(metered.Meter.EndedWell);
    }

    [Theory]
    [InlineData("""{"error":{"object":"error","message":"Input validation error","type":"BadRequestError","param":null,"code":400}}""", "validation")]
    [InlineData("""{"error":{"object":"error","message":"engine dead","type":"InternalServerError","param":null,"code":500}}""", "internal")]
    [InlineData("""{"error":"Request failed during generation: Server error: Out of memory","error_type":"generation"}""", "internal")]
    [InlineData("""{"error":{"message":"busy","type":"overloaded_error"}}""", "overload")]
    public void ErrorInsideA200Stream_ReachesTheClientUnchanged_AndIsTheStreamError_EvenWithDoneAfterIt(string error, string errorType)
    {
        var events = new[] { Chunks.Role(), Chunks.Content("Hi"), error, Chunks.UsageOnly(9, 1), "[DONE]" };
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(SseText.Events("\n", events)), 23));

        var client = metered.ReadAllAndComplete();

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i != 3)]), SseText.Text(client));
        Assert.Equal(new RequestOutcome(errorType), metered.Meter.StreamError);
        Assert.True(metered.Meter.EndedWell);
        Assert.Equal(1, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void ResponsesErrorEvents_AreStreamErrors()
    {
        var body = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n" +
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}}\n\n";
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)), endpoint: MeteredEndpoint.Responses);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        Assert.Equal(RequestOutcome.Internal, metered.Meter.StreamError);
        Assert.False(metered.Meter.EndedWell);
    }

    [Fact]
    public void OllamaZeroUsageOnEveryChunk_LiveCountAndItlDoNotFreeze_TheFinalUsageGivesTheTotal()
    {
        const string zeros = """{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}""";
        var events = new[]
        {
            Chunks.Role(usage: zeros), Chunks.Content("The", usage: zeros), Chunks.Content(" sky", usage: zeros),
            Chunks.Content(" is", usage: zeros), Chunks.Finish(usage: zeros), Chunks.UsageOnly(14, 4), "[DONE]",
        };
        var time = new ManualTimeProvider();
        using var metered = new MeteredStream(OneEventPerRead(events, time, 0.25), time: time);

        var (client, live) = ReadScrapingEachRead(metered);
        metered.Meter.Complete(RequestOutcome.Success);

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i != 5)]), client);
        Assert.Equal([0, 1, 2, 3, 3, 3], live);
        var scrape = metered.Scrape();
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((2, 0.5), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 14), scrape.Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void VllmNIsTwo_ContinuousUsagePerChoice_LiveCountItlAndTopUpAreExact()
    {
        // vLLM's continuous usage with n=2: completion_tokens is the chunk's own choice's count (previous_num_tokens[i]).
        static string Usage(long completion) => Chunks.Usage(6, completion);
        var events = new[]
        {
            Chunks.Role(usage: Usage(0)),
            Chunks.Delta("""{"role":"assistant","content":""}""", index: 1, usage: Usage(0)),
            Chunks.Content("A", index: 0, usage: Usage(1)),
            Chunks.Content("B", index: 1, usage: Usage(1)),
            Chunks.Content("C big", index: 0, usage: Usage(3)),
            Chunks.Content("D", index: 1, usage: Usage(2)),
            Chunks.Finish(index: 0, usage: Usage(3)),
            Chunks.Finish(index: 1, reason: "length", usage: Usage(2)),
            Chunks.UsageOnly(6, 5),
            "[DONE]",
        };
        var time = new ManualTimeProvider();
        using var metered = new MeteredStream(OneEventPerRead(events, time, 0.5), time: time);

        var (client, live) = ReadScrapingEachRead(metered);
        metered.Meter.Complete(RequestOutcome.Success);

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i != 8)]), client);
        Assert.Equal([0, 0, 1, 2, 4, 5, 5, 5, 5], live);
        var scrape = metered.Scrape();
        Assert.Equal(5, scrape.Value("output_tokens_total", ("model", "m")));
        // After the first token: 1 token in 0.5 s, 2 in 0.5 s, 1 in 0.5 s: one observation per token.
        Assert.Equal((4, 1.5), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 5), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void LlamaCppNIsTwo_OneUsageOnlyChunkPerChoice_BothRemoved_OutputIsTheirSum()
    {
        var events = new[]
        {
            Chunks.Content("a", index: 0), Chunks.Content("b", index: 1), Chunks.Content("c", index: 1),
            Chunks.Finish(index: 0), Chunks.Finish(index: 1),
            Chunks.UsageOnly(11, 1, cached: 4), Chunks.UsageOnly(11, 2, cached: 4), "[DONE]",
        };
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(SseText.Events("\n", events)), 61));

        var client = metered.ReadAllAndComplete();

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i is not (5 or 6))]), SseText.Text(client));
        var scrape = metered.Scrape();
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 11), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 4), scrape.Histogram("cached_sequence_length"));
    }

    [Fact]
    public void ReasoningTokens_FromTheUsageOnlyChunk()
    {
        var usage = """{"prompt_tokens":5,"completion_tokens":40,"total_tokens":45,"completion_tokens_details":{"reasoning_tokens":32}}""";
        var body = SseText.Events("\n", Chunks.Delta("""{"reasoning_content":"hm"}"""), Chunks.Chunk("[]", usage), "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        metered.ReadAllAndComplete();

        Assert.Equal((1, 32), metered.Scrape().Histogram("reasoning_tokens"));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void AnthropicStream_PassesByteIdentical_AndIsMetered(string newline)
    {
        var body = string.Concat(MessagesStream.Generation.Select(d => MessagesStream.Event(d, newline)));
        var time = new ManualTimeProvider();
        var upstream = ChunkedReadStream.OfPieces([.. MessagesStream.Generation.Select(d => SseText.Utf8(MessagesStream.Event(d, newline)))]);
        upstream.BeforeRead = _ => time.AdvanceSeconds(0.25);
        using var metered = new MeteredStream(upstream, removeUsageChunk: true, endpoint: MeteredEndpoint.AnthropicMessages, time: time);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete(readSize: 7)));

        Assert.True(metered.Meter.EndedWell);
        Assert.Null(metered.Meter.StreamError);
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "anthropic_messages"), ("request_type", "stream")));
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 1.0), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal((2, 0.5), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 135), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 100), scrape.Histogram("cached_sequence_length"));
        Assert.Equal((1, 100), scrape.Histogram("cached_tokens"));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void AnthropicStream_OutputTokensAboveTheDeltas_TopsUpToTheLastMessageDelta()
    {
        var data = new[]
        {
            MessagesStream.MessageStart("""{"input_tokens":8,"output_tokens":1}"""),
            MessagesStream.TextDelta("Hello there"),
            MessagesStream.MessageDelta("""{"output_tokens":5}"""),
            MessagesStream.MessageStop,
        };
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(MessagesStream.Events(data))), endpoint: MeteredEndpoint.AnthropicMessages);

        metered.ReadAllAndComplete();

        var scrape = metered.Scrape();
        Assert.Equal(5, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 5), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 8), scrape.Histogram("input_sequence_tokens"));
        Assert.False(scrape.Has("cached_sequence_length_count", ("model", "m")));
    }

    [Fact]
    public void AnthropicStream_CutBeforeMessageDelta_OslIsTheLiveCount_NotMessageStartsOutput()
    {
        var data = new[] { MessagesStream.MessageStart("""{"input_tokens":8,"output_tokens":0}"""), MessagesStream.TextDelta("a"), MessagesStream.TextDelta("b") };
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(MessagesStream.Events(data))), endpoint: MeteredEndpoint.AnthropicMessages);

        SseText.ReadToEnd(metered.Stream);
        metered.Meter.Complete(RequestOutcome.Disconnected);

        Assert.False(metered.Meter.EndedWell);
        var scrape = metered.Scrape();
        Assert.Equal((1, 2), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 8), scrape.Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void AnthropicErrorEvent_ReachesTheClient_AndIsTheStreamError()
    {
        var data = new[] { MessagesStream.MessageStart("""{"input_tokens":8,"output_tokens":1}"""), MessagesStream.TextDelta("Hi"), MessagesStream.OverloadedError };
        var body = MessagesStream.Events(data);
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 10), endpoint: MeteredEndpoint.AnthropicMessages);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        Assert.Equal(new RequestOutcome("overload"), metered.Meter.StreamError);
        Assert.False(metered.Meter.EndedWell);
        Assert.Equal((1, 1), metered.Scrape().Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void AnthropicStream_InputIncludesCached_IslLeavesCacheReadsOut()
    {
        var metrics = MeteredStream.NewMetrics();
        var meter = new RequestMeter(metrics, new ManualTimeProvider(), "m", MeteredEndpoint.AnthropicMessages, isStream: true);
        using var observer = new StreamedResponseMeter(meter, removeUsageChunk: false, anthropicInputIncludesCached: true);
        using var stream = new SseMeteringStream(ChunkedReadStream.SplitAt(SseText.Utf8(MessagesStream.Events(MessagesStream.Generation))), observer, meter, 1024 * 1024);

        SseText.ReadToEnd(stream);
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(metrics.Registry);
        Assert.Equal((1, 35), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 100), scrape.Histogram("cached_tokens"));
    }
}

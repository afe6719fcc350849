using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

public class UnaryMeteringStreamTests
{
    // vLLM's answer: 21 prompt tokens (16 of them cached), 2 completion tokens.
    private static readonly string ChatCompletion = VllmStream.ChatUnary(new Generation(MeteredStream.Model, ["Hello", " there"], PromptTokens: 21, CachedTokens: 16));

    private readonly SidecarMetrics _metrics = MeteredStream.NewMetrics();
    private readonly ManualTimeProvider _time = new();

    private RequestMeter Meter(MeteredEndpoint endpoint = MeteredEndpoint.ChatCompletions) => new(_metrics, _time, "m", endpoint, isStream: false);

    [Fact]
    public void Body_PassesThroughUnchanged_InEveryReadSize_AndTheUsageReachesTheMeter()
    {
        var bytes = SseText.Utf8(ChatCompletion);
        foreach (var size in new[] { 1, 2, 3, 7, 16, 64, 4096 })
        {
            var metrics = MeteredStream.NewMetrics();
            var meter = new RequestMeter(metrics, _time, "m", MeteredEndpoint.ChatCompletions, isStream: false);
            using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(bytes, size), meter, 1024);

            Assert.Equal(bytes, SseText.ReadToEnd(stream, readSize: size));
            meter.Complete(RequestOutcome.Success);

            var scrape = MetricsScrape.Of(metrics.Registry);
            Assert.Equal((1, 21), scrape.Histogram("input_sequence_tokens"));
            Assert.Equal((1, 2), scrape.Histogram("output_sequence_tokens"));
            Assert.Equal((1, 16), scrape.Histogram("cached_sequence_length"));
            Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "m")));
        }
    }

    [Fact]
    public async Task ZeroByteReads_PassThrough_AndDoNotEndTheBody()
    {
        var meter = Meter();
        var upstream = ChunkedReadStream.SplitAt(SseText.Utf8(ChatCompletion), 40);
        using var stream = new UnaryMeteringStream(upstream, meter, 1024);

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
        var body = await SseText.ReadToEndAsync(stream);
        meter.Complete(RequestOutcome.Success);

        Assert.Equal(ChatCompletion, SseText.Text(body));
        Assert.Equal(1, upstream.ZeroByteReads);
        Assert.Equal((1, 21), MetricsScrape.Of(_metrics.Registry).Histogram("input_sequence_tokens"));
    }

    [Fact]
    public async Task Embeddings_InputTokensOnly()
    {
        const string json = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2,0.3]}],"model":"m","usage":{"prompt_tokens":8,"total_tokens":8}}""";
        var meter = Meter(MeteredEndpoint.Embeddings);
        using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(json), 5), meter, 1024);

        await SseText.ReadToEndAsync(stream, 3);
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal((1, 8), scrape.Histogram("input_sequence_tokens"));
        Assert.False(scrape.Has("output_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public async Task ResponsesUnary_InputAndOutputTokens()
    {
        const string json = """{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"Hi"}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"total_tokens":13}}""";
        var meter = Meter(MeteredEndpoint.Responses);
        using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(json), 13), meter, 1024);

        await SseText.ReadToEndAsync(stream);
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal((1, 9), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 3), scrape.Histogram("cached_sequence_length"));
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public async Task BodyCutByAnError_Propagates_AndNoUsageIsObserved()
    {
        var meter = Meter();
        var error = new IOException("reset");
        var upstream = new ThrowingStream(SseText.Utf8(ChatCompletion[..60]), error);
        var stream = new UnaryMeteringStream(upstream, meter, 1024);

        var thrown = await Assert.ThrowsAsync<IOException>(() => SseText.ReadToEndAsync(stream));
        meter.Complete(RequestOutcome.Internal);
        stream.Dispose();

        Assert.Same(error, thrown);
        Assert.True(upstream.Disposed);
        Assert.False(MetricsScrape.Of(_metrics.Registry).Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public async Task UsageAfterAHugeTokenBeyondTheCap_IsNotFound_ButTheBodyStillPasses()
    {
        var json = "{\"choices\":[{\"message\":{\"content\":\"" + new string('z', 50_000) + "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";
        var meter = Meter();
        using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(json), 4096), meter, 8192);

        Assert.Equal(json, SseText.Text(await SseText.ReadToEndAsync(stream)));
        meter.Complete(RequestOutcome.Success);

        Assert.False(MetricsScrape.Of(_metrics.Registry).Has("input_sequence_tokens_count", ("model", "m")));
    }

    private const string AnthropicMessage = """{"id":"msg_01","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":12,"cache_read_input_tokens":300,"output_tokens":9,"service_tier":"standard"}}""";

    [Theory]
    [InlineData(false, 352)]
    [InlineData(true, 52)]
    public async Task AnthropicUnary_IslIncludesTheCacheUnlessTheWorkerCountsItInInput(bool inputIncludesCached, long isl)
    {
        var meter = Meter(MeteredEndpoint.AnthropicMessages);
        using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(AnthropicMessage), 17), meter, 1024, inputIncludesCached);

        Assert.Equal(AnthropicMessage, SseText.Text(await SseText.ReadToEndAsync(stream, 5)));
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal(1, scrape.Value("requests_total", ("model", "m"), ("endpoint", "anthropic_messages"), ("request_type", "unary"), ("status", "success"), ("error_type", "")));
        Assert.Equal((1, isl), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 300), scrape.Histogram("cached_sequence_length"));
        Assert.Equal((1, 300), scrape.Histogram("cached_tokens"));
        Assert.Equal((1, 9), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal(9, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((0, 0), scrape.Histogram("time_to_first_token_seconds"));
    }

    [Fact]
    public async Task ChatUnary_ReasoningTokens_AreObserved()
    {
        const string json = """{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":120,"total_tokens":130,"completion_tokens_details":{"reasoning_tokens":118}}}""";
        var meter = Meter();
        using var stream = new UnaryMeteringStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(json), 9), meter, 1024);

        await SseText.ReadToEndAsync(stream);
        meter.Complete(RequestOutcome.Success);

        Assert.Equal((1, 118), MetricsScrape.Of(_metrics.Registry).Histogram("reasoning_tokens"));
    }
}

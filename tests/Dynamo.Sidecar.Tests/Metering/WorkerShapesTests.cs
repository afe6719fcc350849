using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

/// <summary>
/// Real workers' streams, rebuilt byte for byte by the Workers library, through the metering path a proxied
/// stream takes (<see cref="SseMeteringStream"/>, <see cref="StreamedResponseMeter"/>, <see cref="RequestMeter"/>,
/// ended by the proxy's <c>OutcomeClassifier</c>), one event per upstream read. Each test asserts what the client
/// receives and what <c>/metrics</c> then says (SPEC §2).
/// </summary>
public class WorkerShapesTests
{
    private const string M = MeteredStream.Model;
    private static readonly (string, string) Model = ("model", M);

    public static TheoryData<string> NormalStreams => [.. WorkerShape.NormalStreams(M).Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(NormalStreams))]
    public void Normal_stream_of_every_worker_family_is_metered_right(string name)
    {
        var shape = WorkerShape.NormalStreams(M).Single(s => s.Name == name);
        var usage = shape.Stream.Usage!;
        using var metered = Metered(shape.Stream, Endpoint(shape.Endpoint));

        var client = metered.ReadAllAndEndAsTheProxy();

        Assert.Equal(shape.Stream.BodyWithoutUsage, SseText.Text(client));
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_total", Request(shape.Endpoint, "success", "")));
        Assert.Equal(usage.OutputTokens, scrape.Value("output_tokens_total", Model));
        Assert.Equal((1, usage.InputTokens), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, usage.OutputTokens), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal(usage.CachedTokens is { } cached ? (1, cached) : (0, 0), scrape.Histogram("cached_sequence_length"));
        Assert.Equal(1, scrape.Histogram("time_to_first_token_seconds").Count);
        // One token per content event (no continuous usage): every content event after the first is one ITL observation.
        Assert.Equal(shape.ContentEvents - 1, scrape.Histogram("inter_token_latency_seconds").Count);
        Assert.Equal(0, scrape.Value("inflight_requests", Model));
    }

    [Fact]
    public void Tgi_unfinished_completions_chunks_say_finish_reason_empty_so_a_clean_close_before_the_end_is_internal()
    {
        // TGI writes "finish_reason":"" on every unfinished /v1/completions chunk; here the connection closes after
        // three of them, with no real finish and no [DONE]: the generation did not end (SPEC §2, "" is not a finish).
        var stream = TgiStream.CompletionsCutAfter(new Generation(M, [" The", " sky", " is", " blue", "."], PromptTokens: 6), tokens: 3);
        using var metered = Metered(stream, MeteredEndpoint.Completions);

        var client = metered.ReadAllAndEndAsTheProxy();

        Assert.Equal(stream.Body, SseText.Text(client));
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_total", Request("completions", "error", "internal")));
        Assert.Equal(0, scrape.ValueOrZero("requests_total", Request("completions", "success", "")));
        // No usage came: what passed is the count.
        Assert.Equal(3, scrape.Value("output_tokens_total", Model));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
    }

    public static TheoryData<string> StreamErrors => [.. WorkerShape.StreamErrors(M).Select(s => s.Shape.Name)];

    [Theory]
    [MemberData(nameof(StreamErrors))]
    public void Error_event_then_done_in_a_200_stream_is_an_error_with_the_type_of_its_code(string name)
    {
        var (shape, errorType) = WorkerShape.StreamErrors(M).Single(s => s.Shape.Name == name);
        using var metered = Metered(shape.Stream, MeteredEndpoint.ChatCompletions);

        var client = metered.ReadAllAndEndAsTheProxy();

        Assert.Equal(shape.Stream.Body, SseText.Text(client));
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_total", Request("chat_completions", "error", errorType)));
        Assert.Equal(0, scrape.ValueOrZero("requests_total", Request("chat_completions", "success", "")));
        Assert.Equal(2, scrape.Value("output_tokens_total", Model));
    }

    [Fact]
    public void Ollama_zero_usage_on_every_chunk_does_not_freeze_the_live_count_or_itl()
    {
        // With include_usage (always on behind the sidecar) Ollama's /v1/completions writes
        // "usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0} on every chunk; a usage that does not
        // grow is not a running total, so each chunk still counts one token (SPEC §2).
        var stream = OllamaStream.Completions(new Generation(M, [" The", " sky", " is", " blue", "."], PromptTokens: 9));
        var (client, liveBeforeUsage, scrape) = MeterWithLiveCountBeforeUsage(stream, MeteredEndpoint.Completions);

        Assert.Equal(stream.BodyWithoutUsage, client);
        Assert.Equal(5, liveBeforeUsage);
        Assert.Equal(1, scrape.Value("requests_total", Request("completions", "success", "")));
        Assert.Equal(5, scrape.Value("output_tokens_total", Model));
        Assert.Equal((1, 5), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 9), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal(1, scrape.Histogram("time_to_first_token_seconds").Count);
        Assert.Equal(5 - 1, scrape.Histogram("inter_token_latency_seconds").Count);
    }

    [Fact]
    public void Vllm_n2_with_continuous_usage_is_counted_exactly_while_it_streams()
    {
        // vLLM with n=2 and continuous_usage_stats puts on each chunk the running count of that chunk's own choice
        // (1, 1, 2, 2, 3, 3): each chunk adds one token. Six tokens pass; the first gives TTFT, and ITL is observed
        // once per token after it (SPEC §2): 6 - 1 = 5 observations. The final usage says 6.
        var stream = VllmStream.Chat(new Generation(M, [" a", " b", " c"], PromptTokens: 11) { Choices = 2 }, continuousUsage: true);
        var (client, liveBeforeUsage, scrape) = MeterWithLiveCountBeforeUsage(stream, MeteredEndpoint.ChatCompletions);

        Assert.Equal(stream.BodyWithoutUsage, client);
        Assert.Equal(6, liveBeforeUsage);
        Assert.Equal(1, scrape.Value("requests_total", Request("chat_completions", "success", "")));
        Assert.Equal(6, scrape.Value("output_tokens_total", Model));
        Assert.Equal((1, 6), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal(1, scrape.Histogram("time_to_first_token_seconds").Count);
        Assert.Equal(6 - 1, scrape.Histogram("inter_token_latency_seconds").Count);
    }

    [Fact]
    public void LlamaCpp_n2_sends_one_usage_chunk_per_choice_both_removed_and_osl_is_the_request_total()
    {
        // llama-server ends each choice with its own usage-only chunk: 6 + 6 completion tokens, the prompt (9) in both.
        var stream = LlamaCppStream.Chat(new Generation(M, [" a", " b", " c", " d", " e", " f"], PromptTokens: 9) { Choices = 2 });
        Assert.Equal(2, stream.Texts(WorkerEventKind.UsageOnly).Count);
        using var metered = Metered(stream, MeteredEndpoint.ChatCompletions);

        var client = metered.ReadAllAndEndAsTheProxy();

        Assert.Equal(stream.BodyWithoutUsage, SseText.Text(client));
        Assert.DoesNotContain("\"usage\"", SseText.Text(client), StringComparison.Ordinal);
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_total", Request("chat_completions", "success", "")));
        Assert.Equal(12, scrape.Value("output_tokens_total", Model));
        Assert.Equal((1, 12), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 9), scrape.Histogram("input_sequence_tokens"));
    }

    /// <summary>
    /// Meters <paramref name="stream"/> event by event as the proxy reads it: what the client received, the
    /// <c>output_tokens_total</c> scraped just before the first usage-only event is read, and the scrape at the end.
    /// </summary>
    private static (string Client, double? LiveBeforeUsage, MetricsScrape Scrape) MeterWithLiveCountBeforeUsage(WorkerStream stream, MeteredEndpoint endpoint)
    {
        var usageRead = stream.Events.ToList().FindIndex(e => e.Kind == WorkerEventKind.UsageOnly);
        double? liveBeforeUsage = null;
        var upstream = ChunkedReadStream.OfPieces([.. stream.Events.Select(e => SseText.Utf8(e.Text))]);
        using var metered = new MeteredStream(upstream, endpoint: endpoint);
        upstream.BeforeRead = read =>
        {
            if (read == usageRead)
            {
                liveBeforeUsage = metered.Scrape().Value("output_tokens_total", Model);
            }
        };

        var client = metered.ReadAllAndEndAsTheProxy();
        return (SseText.Text(client), liveBeforeUsage, metered.Scrape());
    }

    private static MeteredStream Metered(WorkerStream stream, MeteredEndpoint endpoint) =>
        new(ChunkedReadStream.OfPieces([.. stream.Events.Select(e => SseText.Utf8(e.Text))]), removeUsageChunk: true, endpoint);

    // The Anthropic endpoint arrives with the core change that meters /v1/messages; by name, so this file builds before it.
    private static MeteredEndpoint Endpoint(string label) => label switch
    {
        "chat_completions" => MeteredEndpoint.ChatCompletions,
        "completions" => MeteredEndpoint.Completions,
        "anthropic_messages" => Enum.Parse<MeteredEndpoint>("AnthropicMessages"),
        _ => throw new ArgumentOutOfRangeException(nameof(label)),
    };

    private static (string, string)[] Request(string endpoint, string status, string errorType) =>
        [Model, ("endpoint", endpoint), ("request_type", "stream"), ("status", status), ("error_type", errorType)];
}

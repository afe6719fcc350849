using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

public class RequestMeterTests
{
    private readonly SidecarMetrics _metrics = MeteredStream.NewMetrics();
    private readonly ManualTimeProvider _time = new();

    private RequestMeter Meter(bool isStream = true, MeteredEndpoint endpoint = MeteredEndpoint.ChatCompletions, string model = "m") =>
        new(_metrics, _time, model, endpoint, isStream);

    private MetricsScrape Scrape() => MetricsScrape.Of(_metrics.Registry);

    private static ChunkFacts Content(int choices = 1, Usage? usage = null, int index = 0) =>
        new() { OutputChoices = choices, ChoiceIndex = choices <= 1 ? index : -1, Usage = usage ?? Usage.None };

    private static ChunkFacts UsageOnly(long prompt, long completion, long cached = -1, long reasoning = -1) =>
        new() { IsUsageOnly = true, ChoiceIndex = -1, Usage = new Usage(prompt, completion, cached, reasoning) };

    public static TheoryData<string> Outcomes => new() { "success", "validation", "not_found", "overload", "cancelled-499", "disconnected", "unavailable", "response_timeout", "internal", "not_implemented" };

    private static RequestOutcome OutcomeNamed(string name) => name switch
    {
        "success" => RequestOutcome.Success,
        "validation" => RequestOutcome.FromStatusCode(400),
        "not_found" => RequestOutcome.FromStatusCode(404),
        "overload" => RequestOutcome.FromStatusCode(429),
        "cancelled-499" => RequestOutcome.FromStatusCode(499),
        "disconnected" => RequestOutcome.Disconnected,
        "unavailable" => RequestOutcome.Unavailable,
        "response_timeout" => RequestOutcome.ResponseTimeout,
        "internal" => RequestOutcome.Internal,
        "not_implemented" => RequestOutcome.FromStatusCode(501),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Fact]
    public void Accepted_StartsCountsAndRaisesTheGauges()
    {
        Meter(isStream: true);
        Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings);

        var scrape = Scrape();
        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream")));
        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "embeddings"), ("request_type", "unary")));
        Assert.Equal(2, scrape.Value("inflight_requests", ("model", "m")));
        Assert.Equal(2, scrape.Value("active_requests", ("model", "m")));
        Assert.Equal(2, scrape.Value("queued_requests", ("model", "m")));
    }

    [Theory]
    [MemberData(nameof(Outcomes))]
    public void GaugesReturnToZero_AfterComplete_OnEveryOutcome_StreamOrUnary_WithOrWithoutContent(string outcomeName)
    {
        var outcome = OutcomeNamed(outcomeName);
        Meter(isStream: true).Complete(outcome);
        var withContent = Meter(isStream: true);
        withContent.OnChunkInOwnRead(Content());
        withContent.Complete(outcome);
        var unary = Meter(isStream: false);
        unary.OnResponseStarted();
        unary.Complete(outcome);
        Meter(isStream: false).Complete(outcome);

        var scrape = Scrape();
        Assert.Equal(0, scrape.Value("inflight_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("active_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("queued_requests", ("model", "m")));
        Assert.Equal(2, scrape.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", outcome.Status), ("error_type", outcome.ErrorType)));
        Assert.Equal(2, scrape.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", outcome.Status), ("error_type", outcome.ErrorType)));
        Assert.Equal(4, scrape.Histogram("request_duration_seconds").Count);
    }

    [Fact]
    public void Complete_IsIdempotent()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        meter.OnChunkInOwnRead(UsageOnly(3, 4));

        meter.Complete(RequestOutcome.Disconnected);
        meter.Complete(RequestOutcome.Disconnected);
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(0, scrape.Value("inflight_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("queued_requests", ("model", "m")));
        Assert.Equal(1, scrape.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "error"), ("error_type", "cancelled")));
        Assert.False(scrape.Has("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")));
        Assert.Equal(1, scrape.Value("disconnected_clients"));
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal(1, scrape.Histogram("request_duration_seconds").Count);
    }

    [Fact]
    public void ClientDisconnect_CountsInDisconnectedClientsAndCancellations()
    {
        Meter(isStream: true).Complete(RequestOutcome.Disconnected);
        Meter(isStream: false, endpoint: MeteredEndpoint.Completions).Complete(RequestOutcome.Disconnected);

        var scrape = Scrape();
        Assert.Equal(2, scrape.Value("disconnected_clients"));
        Assert.Equal(1, scrape.Value("model_cancellation_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream")));
        Assert.Equal(1, scrape.Value("model_cancellation_total", ("model", "m"), ("endpoint", "completions"), ("request_type", "unary")));
        Assert.Equal(1, scrape.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "error"), ("error_type", "cancelled")));
    }

    [Theory]
    [MemberData(nameof(Outcomes))]
    public void DisconnectCounters_MoveOnlyForARealClientDisconnect(string outcomeName)
    {
        var outcome = OutcomeNamed(outcomeName);
        Meter().Complete(outcome);

        var scrape = Scrape();
        var expected = outcomeName == "disconnected" ? 1 : 0;
        Assert.Equal(expected, scrape.Value("disconnected_clients"));
        Assert.Equal(expected, scrape.ValueOrZero("model_cancellation_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream")));
    }

    [Fact]
    public void Worker499_IsCancelled_ButNotADisconnectedClient()
    {
        Meter().Complete(RequestOutcome.FromStatusCode(499));

        var scrape = Scrape();
        Assert.Equal(1, scrape.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "error"), ("error_type", "cancelled")));
        Assert.Equal(0, scrape.Value("disconnected_clients"));
        Assert.False(scrape.Has("model_cancellation_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream")));
    }

    [Fact]
    public void Stream_StaysQueuedUntilTheFirstContentChunk_NotTheResponseHeaders()
    {
        var meter = Meter(isStream: true);

        meter.OnResponseStarted();
        Assert.Equal(1, Scrape().Value("queued_requests", ("model", "m")));

        meter.OnChunkInOwnRead(Content(choices: 0));
        Assert.Equal(1, Scrape().Value("queued_requests", ("model", "m")));

        meter.OnChunkInOwnRead(Content());
        Assert.Equal(0, Scrape().Value("queued_requests", ("model", "m")));
        Assert.Equal(1, Scrape().Value("inflight_requests", ("model", "m")));

        meter.OnChunkInOwnRead(Content());
        meter.Complete(RequestOutcome.Success);
        Assert.Equal(0, Scrape().Value("queued_requests", ("model", "m")));
    }

    [Fact]
    public void Unary_LeavesTheQueueWhenTheResponseStarts_AndObservesNoTtftNorItl()
    {
        var meter = Meter(isStream: false);
        Assert.Equal(1, Scrape().Value("queued_requests", ("model", "m")));

        _time.AdvanceSeconds(2);
        meter.OnResponseStarted();
        meter.OnResponseStarted();
        Assert.Equal(0, Scrape().Value("queued_requests", ("model", "m")));
        Assert.Equal(1, Scrape().Value("inflight_requests", ("model", "m")));

        meter.OnUnaryUsage(new Usage(30, 12, 8));
        _time.AdvanceSeconds(1);
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(0, scrape.Value("queued_requests", ("model", "m")));
        Assert.Equal((0, 0), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal((0, 0), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal(12, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 30), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 12), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 8), scrape.Histogram("cached_sequence_length"));
        Assert.Equal((1, 3), scrape.Histogram("request_duration_seconds"));
    }

    [Fact]
    public void Embeddings_ObserveInputTokens_ButNoOutputSequence()
    {
        var meter = Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings);
        meter.OnResponseStarted();
        meter.OnUnaryUsage(new Usage(8, -1, -1));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal((1, 8), scrape.Histogram("input_sequence_tokens"));
        Assert.False(scrape.Has("output_sequence_tokens_count", ("model", "m")));
        Assert.Equal(0, scrape.Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void OutputTokens_CountLive_ThenTopUpToTheWorkersCompletionTokens()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        meter.OnChunkInOwnRead(Content());
        Assert.Equal(2, Scrape().Value("output_tokens_total", ("model", "m")));

        meter.OnChunkInOwnRead(UsageOnly(10, 5));
        Assert.Equal(2, Scrape().Value("output_tokens_total", ("model", "m")));

        meter.Complete(RequestOutcome.Success);
        Assert.Equal(5, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 5), Scrape().Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void TopUp_NeverDecreasesTheCounter_WhenTheLiveCountOvershot()
    {
        var meter = Meter();
        for (var i = 0; i < 5; i++)
        {
            meter.OnChunkInOwnRead(Content());
        }

        meter.OnChunkInOwnRead(UsageOnly(10, 3));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(5, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void OutputTokensTotal_SumsOverRequestsOfTheModel()
    {
        var first = Meter();
        first.OnChunkInOwnRead(Content());
        first.OnChunkInOwnRead(UsageOnly(1, 4));
        first.Complete(RequestOutcome.Success);
        var second = Meter(isStream: false);
        second.OnUnaryUsage(new Usage(1, 6, -1));
        second.Complete(RequestOutcome.Success);
        var other = Meter(model: "other");
        other.OnChunkInOwnRead(Content(choices: 2));
        other.Complete(RequestOutcome.Disconnected);

        var scrape = Scrape();
        Assert.Equal(10, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "other")));
        Assert.Equal((2, 10), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void CancelledStreamThatProducedTokens_ObservesItsLiveCountAsOsl()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        meter.OnChunkInOwnRead(Content());
        meter.OnChunkInOwnRead(Content(choices: 2));
        meter.Complete(RequestOutcome.Disconnected);

        var scrape = Scrape();
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.False(scrape.Has("input_sequence_tokens_count", ("model", "m")));
        Assert.False(scrape.Has("cached_sequence_length_count", ("model", "m")));
    }

    [Fact]
    public void RequestWithoutAnyToken_ObservesNoOsl()
    {
        Meter().Complete(RequestOutcome.FromStatusCode(400));

        Assert.False(Scrape().Has("output_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public void CachedTokens_ObservedOncePerRequest_WhenReported_ZeroIncluded()
    {
        var reported = Meter();
        reported.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = new Usage(10, 1, 0) });
        reported.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = new Usage(10, 2, 0) });
        reported.OnChunkInOwnRead(UsageOnly(10, 2, cached: 0));
        reported.Complete(RequestOutcome.Success);
        var notReported = Meter();
        notReported.OnChunkInOwnRead(UsageOnly(10, 2));
        notReported.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal((1, 0), scrape.Histogram("cached_sequence_length"));
        Assert.Equal(1, scrape.Bucket("cached_sequence_length", "0"));
        Assert.Equal((2, 20), scrape.Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void Ttft_FromAcceptance_ToTheFirstContentChunk()
    {
        var meter = Meter();
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(choices: 0));
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(Content());
        _time.AdvanceSeconds(10);
        meter.OnChunkInOwnRead(Content());

        var scrape = Scrape();
        Assert.Equal((1, 0.75), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal(0, scrape.Bucket("time_to_first_token_seconds", "0.47"));
        Assert.Equal(1, scrape.Bucket("time_to_first_token_seconds", "1"));
    }

    [Fact]
    public void Itl_IsTheGapDividedByTheTokens_ObservedOncePerToken()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(choices: 4));
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(Content(choices: 0));
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(Content());

        var scrape = Scrape();
        // 4 × 0.125 s, then one 0.5 s gap (the chunk without output in between does not reset it).
        Assert.Equal((5, 1.0), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal(4, scrape.Bucket("inter_token_latency_seconds", "0.16"));
        Assert.Equal(4, scrape.Bucket("inter_token_latency_seconds", "0.3"));
        Assert.Equal(5, scrape.Bucket("inter_token_latency_seconds", "0.56"));
        Assert.Equal(6, scrape.Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void ChunksOfOneRead_ArePublishedTogether_AndAreZeroSecondsApart()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        _time.AdvanceSeconds(0.5);
        meter.OnChunk(Content());
        _time.AdvanceSeconds(0.25); // processing time within one read is not a gap the worker made
        meter.OnChunk(Content(choices: 2));
        meter.OnChunk(Content());

        Assert.Equal(1, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 0.5), Scrape().Histogram("inter_token_latency_seconds"));

        meter.Publish();

        var scrape = Scrape();
        Assert.Equal(5, scrape.Value("output_tokens_total", ("model", "m")));
        // The first chunk of the read is 0.5 s after the previous read's; the three tokens after it arrived with it.
        Assert.Equal((4, 0.5), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal(3, scrape.Bucket("inter_token_latency_seconds", "0"));
    }

    [Fact]
    public void Complete_PublishesTheLastReadsTokens_WhenNoPublishCame()
    {
        var meter = Meter();
        meter.OnChunk(Content());
        meter.OnChunk(Content());
        meter.Complete(RequestOutcome.Disconnected);

        var scrape = Scrape();
        Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 0), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 2), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void ContinuousUsage_TokensAreTheDeltaOfTheRunningTotal()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 0, Usage = new Usage(10, 0, -1) });
        meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = new Usage(10, 2, -1) });
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = new Usage(10, 6, -1) });
        Assert.Equal(6, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((4, 0.5), Scrape().Histogram("inter_token_latency_seconds"));

        // A usage that does not grow is no running total (SPEC §2): the chunk counts one token per choice with output.
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = new Usage(10, 6, -1) });
        Assert.Equal(7, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((5, 1.0), Scrape().Histogram("inter_token_latency_seconds"));

        meter.OnChunkInOwnRead(new ChunkFacts { Finished = true, Usage = new Usage(10, 7, -1) });
        meter.Complete(RequestOutcome.Success);
        Assert.Equal(7, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 7), Scrape().Histogram("output_sequence_tokens"));
        Assert.True(meter.EndedWell);
    }

    [Fact]
    public void EndedWell_ByDoneOrAFinishedChunk_OnlyThen()
    {
        var cut = Meter();
        cut.OnChunkInOwnRead(Content());
        cut.OnChunkInOwnRead(UsageOnly(1, 1));
        Assert.False(cut.EndedWell);

        var done = Meter();
        done.OnDone();
        Assert.True(done.EndedWell);

        var finished = Meter();
        finished.OnChunkInOwnRead(new ChunkFacts { Finished = true, Usage = Usage.None });
        finished.OnChunkInOwnRead(Content());
        Assert.True(finished.EndedWell);
    }

    [Fact]
    public void Duration_IsFromAcceptanceToComplete()
    {
        var meter = Meter();
        _time.AdvanceSeconds(3);
        meter.Complete(RequestOutcome.Success);
        _time.AdvanceSeconds(100);
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal((1, 3), scrape.Histogram("request_duration_seconds"));
        Assert.Equal(0, scrape.Bucket("request_duration_seconds", "2"));
        Assert.Equal(1, scrape.Bucket("request_duration_seconds", "4"));
    }

    [Fact]
    public void CustomPrefix_NamesEveryFamily()
    {
        var metrics = new SidecarMetrics(Microsoft.Extensions.Options.Options.Create(new Dynamo.Sidecar.Hosting.SidecarOptions
        {
            Metrics = new Dynamo.Sidecar.Hosting.MetricsOptions { Prefix = "llm" },
        }));
        new RequestMeter(metrics, _time, "m", MeteredEndpoint.ChatCompletions, isStream: true).Complete(RequestOutcome.Success);

        var text = MetricsScrape.Of(metrics.Registry).Text;
        var names = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(19, names.Count);
        Assert.All(names, n => Assert.StartsWith("llm_", n, StringComparison.Ordinal));
        Assert.DoesNotContain("dynamo_frontend", text, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultBuckets_AreDynamos()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        meter.OnChunkInOwnRead(UsageOnly(1, 1, cached: 1));
        meter.Complete(RequestOutcome.Success);
        var scrape = Scrape();

        static string[] Les(MetricsScrape s, string name) => [.. s.Series
            .Where(k => k.StartsWith(MetricsScrape.Prefix + name + "_bucket{", StringComparison.Ordinal))
            .Select(k =>
            {
                var start = k.IndexOf("le=\"", StringComparison.Ordinal) + 4;
                return k[start..k.IndexOf('"', start)];
            })];

        Assert.Equal(["0", "2", "4", "8", "16", "32", "64", "130", "260", "510", "+Inf"], Les(scrape, "request_duration_seconds"));
        Assert.Equal(["0", "0.0022", "0.0047", "0.01", "0.022", "0.047", "0.1", "0.22", "0.47", "1", "2.2", "4.7", "10", "22", "48", "100", "220", "480", "+Inf"], Les(scrape, "time_to_first_token_seconds"));
        Assert.Equal(["0", "0.0019", "0.0035", "0.0067", "0.013", "0.024", "0.045", "0.084", "0.16", "0.3", "0.56", "1.1", "2", "+Inf"], Les(scrape, "inter_token_latency_seconds"));
        string[] inputBuckets = ["0", "100", "210", "430", "870", "1800", "3600", "7400", "15000", "31000", "63000", "130000", "+Inf"];
        Assert.Equal(inputBuckets, Les(scrape, "input_sequence_tokens"));
        Assert.Equal(inputBuckets, Les(scrape, "cached_sequence_length"));
        Assert.Equal(["0", "100", "210", "430", "880", "1800", "3700", "7600", "16000", "32000", "+Inf"], Les(scrape, "output_sequence_tokens"));
    }

    [Fact]
    public void NewFamilies_HaveDynamosBuckets()
    {
        var chat = Meter();
        chat.OnChunkInOwnRead(UsageOnly(1, 1, cached: 1, reasoning: 1));
        chat.Complete(RequestOutcome.Success);
        Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings).Complete(RequestOutcome.Success);
        var scrape = Scrape();

        Assert.Equal(["0", "100", "210", "430", "870", "1800", "3600", "7400", "15000", "31000", "63000", "130000", "+Inf"], Les(scrape, "cached_tokens"));
        Assert.Equal(["0", "100", "210", "430", "880", "1800", "3700", "7600", "16000", "32000", "+Inf"], Les(scrape, "reasoning_tokens"));
        // Dynamo's generate_log_buckets(0.001, 10, 14), which the SPEC writes as "0, 0.002, 0.0041, … 4.9, 10".
        Assert.Equal(["0", "0.002", "0.0041", "0.0084", "0.017", "0.035", "0.07", "0.14", "0.29", "0.59", "1.2", "2.4", "4.9", "10", "+Inf"], Les(scrape, "embedding_latency_seconds"));
    }

    [Fact]
    public void CachedTokens_IsTheSameObservationAsCachedSequenceLength_OncePerRequest()
    {
        var stream = Meter();
        stream.OnChunkInOwnRead(UsageOnly(500, 3, cached: 256));
        stream.Complete(RequestOutcome.Success);
        var unary = Meter(isStream: false);
        unary.OnUnaryUsage(new Usage(40, 2, 0));
        unary.Complete(RequestOutcome.Success);
        var notReported = Meter();
        notReported.OnChunkInOwnRead(UsageOnly(10, 2));
        notReported.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal((2, 256), scrape.Histogram("cached_tokens"));
        Assert.Equal(scrape.Histogram("cached_sequence_length"), scrape.Histogram("cached_tokens"));
        Assert.Equal(1, scrape.Bucket("cached_tokens", "0"));
        Assert.Equal(1, scrape.Bucket("cached_tokens", "210"));
        Assert.Equal(2, scrape.Bucket("cached_tokens", "430"));
    }

    [Fact]
    public void ReasoningTokens_ObservedOncePerRequest_OnlyWhenReported()
    {
        var stream = Meter();
        stream.OnChunkInOwnRead(Content());
        stream.OnChunkInOwnRead(UsageOnly(10, 300, reasoning: 250));
        stream.Complete(RequestOutcome.Success);
        var responses = Meter(isStream: false, endpoint: MeteredEndpoint.Responses);
        responses.OnUnaryUsage(new Usage(9, 4, 3, ReasoningTokens: 0));
        responses.Complete(RequestOutcome.Success);
        var without = Meter();
        without.OnChunkInOwnRead(UsageOnly(10, 2));
        without.Complete(RequestOutcome.Success);
        var embeddings = Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings);
        embeddings.OnUnaryUsage(new Usage(8, -1, -1, ReasoningTokens: 5));
        embeddings.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal((2, 250), scrape.Histogram("reasoning_tokens"));
        Assert.Equal(1, scrape.Bucket("reasoning_tokens", "100"));
        Assert.Equal(2, scrape.Bucket("reasoning_tokens", "430"));
    }

    [Fact]
    public void EmbeddingLatency_IsObservedForEmbeddingsOnly_FromAcceptedToTheEnd()
    {
        var embeddings = Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings);
        var chat = Meter(isStream: false);
        _time.AdvanceSeconds(0.03);
        embeddings.OnResponseStarted();
        embeddings.OnUnaryUsage(new Usage(8, -1, -1));
        embeddings.Complete(RequestOutcome.Success);
        chat.Complete(RequestOutcome.Success);
        var failed = Meter(isStream: false, endpoint: MeteredEndpoint.Embeddings);
        _time.AdvanceSeconds(5);
        failed.Complete(RequestOutcome.FromStatusCode(503));

        var scrape = Scrape();
        Assert.Equal((2, 5.03), (scrape.Histogram("embedding_latency_seconds").Count, Math.Round(scrape.Histogram("embedding_latency_seconds").Sum, 9)));
        Assert.Equal(0, scrape.Bucket("embedding_latency_seconds", "0.017"));
        Assert.Equal(1, scrape.Bucket("embedding_latency_seconds", "0.035"));
        Assert.Equal(1, scrape.Bucket("embedding_latency_seconds", "4.9"));
        Assert.Equal(2, scrape.Bucket("embedding_latency_seconds", "10"));
        Assert.Equal(3, scrape.Histogram("request_duration_seconds").Count);
    }

    [Fact]
    public void StreamError_TheFirstOneReportedIsTheOutcome()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content());
        Assert.Null(meter.StreamError);

        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, ErrorStatusCode = 529, Usage = Usage.None });
        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, ErrorStatusCode = 400, Usage = Usage.None });
        meter.OnDone();

        Assert.True(meter.EndedWell);
        Assert.Equal(new RequestOutcome("overload"), meter.StreamError);
    }

    [Fact]
    public void UsageThatDoesNotGrow_OllamaZerosOnEveryChunk_CountsOneTokenPerChoice_TheFinalUsageGivesTheTotal()
    {
        var zeros = new Usage(0, 0, -1);
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(choices: 0, usage: zeros));
        meter.OnChunkInOwnRead(Content(usage: zeros));
        Assert.Equal(1, Scrape().Value("output_tokens_total", ("model", "m")));
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(Content(usage: zeros));
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(Content(usage: zeros));
        Assert.Equal(3, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((2, 0.5), Scrape().Histogram("inter_token_latency_seconds"));

        meter.OnChunkInOwnRead(UsageOnly(21, 4));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 21), scrape.Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void UsageThatNeverGrew_CutStream_OslIsTheLiveCount()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(usage: new Usage(0, 0, -1)));
        meter.OnChunkInOwnRead(Content(usage: new Usage(0, 0, -1)));
        meter.Complete(RequestOutcome.Disconnected);

        var scrape = Scrape();
        Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 2), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void PerChoiceRunningCounts_NIsTwo_LiveCountItlAndTopUpAreExact()
    {
        // vLLM, n=2, continuous_usage_stats: each chunk carries one choice and that choice's own running count.
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 1, -1)));
        _time.AdvanceSeconds(0.5);
        // Choice 1's count grows while staying at choice 0's: the counts are per choice.
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 1, -1)));
        Assert.Equal(2, Scrape().Value("output_tokens_total", ("model", "m")));
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 2, -1)));
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 4, -1)));
        Assert.Equal(6, Scrape().Value("output_tokens_total", ("model", "m")));
        // 1 token in 0.5 s, 1 in 0.5 s, 3 in 0.5 s: one observation per token.
        Assert.Equal((5, 1.5), Scrape().Histogram("inter_token_latency_seconds"));

        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = 0, Finished = true, Usage = new Usage(7, 2, -1) });
        meter.OnChunkInOwnRead(UsageOnly(7, 6));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(6, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 6), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 7), scrape.Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void PerChoiceRunningCounts_WithoutAFinalUsage_OslIsTheirSum()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 1, -1)));
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 1, -1)));
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 3, -1)));
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 4, -1)));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(7, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 7), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void RequestRunningCountOnEachChoicesChunk_NIsTwo_IsNeverOvercounted()
    {
        // A worker that writes the request's running count on every choice's chunk (the simulated worker does).
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 1, -1)));
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 2, -1)));
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 3, -1)));
        _time.AdvanceSeconds(0.5);
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 4, -1)));
        Assert.Equal(4, Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal((3, 1.5), Scrape().Histogram("inter_token_latency_seconds"));

        meter.OnChunkInOwnRead(UsageOnly(7, 4));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void RequestRunningCountOnEachChoicesChunk_CutBeforeItsUsage_OslIsTheHighestCount()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 1, -1)));
        meter.OnChunkInOwnRead(Content(index: 1, usage: new Usage(7, 2, -1)));
        meter.OnChunkInOwnRead(Content(index: 0, usage: new Usage(7, 3, -1)));
        meter.Complete(RequestOutcome.Internal);

        var scrape = Scrape();
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void ChoiceIndexBeyondTheTrackedOnes_CountsOneTokenPerChoice()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: UsageTally.TrackedChoices, usage: new Usage(7, 5, -1)));
        meter.OnChunkInOwnRead(Content(index: UsageTally.TrackedChoices, usage: new Usage(7, 9, -1)));
        Assert.Equal(2, Scrape().Value("output_tokens_total", ("model", "m")));

        meter.OnChunkInOwnRead(UsageOnly(7, 9));
        meter.Complete(RequestOutcome.Success);
        Assert.Equal(9, Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void SeveralUsageOnlyChunks_LlamaCppNIsTwo_OutputAddsUp_PromptAndCachedCountOnce()
    {
        var meter = Meter();
        meter.OnChunkInOwnRead(Content(index: 0));
        meter.OnChunkInOwnRead(Content(index: 1));
        meter.OnChunkInOwnRead(UsageOnly(12, 5, cached: 8));
        meter.OnChunkInOwnRead(UsageOnly(12, 3, cached: 8));
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(8, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 8), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 12), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 8), scrape.Histogram("cached_sequence_length"));
    }

    [Fact]
    public void RequestTotalUsage_ALaterOneReplacesTheEarlier_NeverAdded()
    {
        // Anthropic: message_start reports output 1, message_delta the cumulative 3.
        var meter = Meter(endpoint: MeteredEndpoint.AnthropicMessages);
        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, UsageIsRequestTotal = true, Usage = new Usage(30, 1, 20) });
        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, OutputChoices = 1, Usage = Usage.None });
        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, OutputChoices = 1, Usage = Usage.None });
        meter.OnChunkInOwnRead(new ChunkFacts { ChoiceIndex = -1, UsageIsRequestTotal = true, Usage = new Usage(30, 3, 20) });
        meter.Complete(RequestOutcome.Success);

        var scrape = Scrape();
        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "anthropic_messages"), ("request_type", "stream")));
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 30), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 20), scrape.Histogram("cached_tokens"));
    }

    private static string[] Les(MetricsScrape scrape, string name) => [.. scrape.Series
        .Where(k => k.StartsWith(MetricsScrape.Prefix + name + "_bucket{", StringComparison.Ordinal))
        .Select(k =>
        {
            var start = k.IndexOf("le=\"", StringComparison.Ordinal) + 4;
            return k[start..k.IndexOf('"', start)];
        })];
}

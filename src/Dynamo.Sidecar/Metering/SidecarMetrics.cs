using Dynamo.Sidecar.Hosting;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// The <c>dynamo_frontend_*</c> metric families (SPEC §2), in a registry of their own so that
/// two sidecars in one process (tests) never share values.
/// </summary>
internal sealed class SidecarMetrics
{
    internal static readonly double[] DurationBuckets = [0, 2, 4, 8, 16, 32, 64, 130, 260, 510];
    internal static readonly double[] InputTokenBuckets = [0, 100, 210, 430, 870, 1800, 3600, 7400, 15000, 31000, 63000, 130000];
    internal static readonly double[] OutputTokenBuckets = [0, 100, 210, 430, 880, 1800, 3700, 7600, 16000, 32000];
    internal static readonly double[] TimeToFirstTokenBuckets = [0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1, 2.2, 4.7, 10, 22, 48, 100, 220, 480];
    internal static readonly double[] InterTokenLatencyBuckets = [0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2];

    // Dynamo's generate_log_buckets(0.001, 10.0, 14): 0, then 13 log-spaced values rounded to 2 significant figures
    // (ai-dynamo/dynamo lib/llm/src/http/service/metrics.rs, DYN_METRICS_EMBEDDING_LATENCY defaults, at commit
    // 0014908a25aecc8e9ce7455bbbaddf9f1521a1b4). The same function gives every list above.
    internal static readonly double[] EmbeddingLatencyBuckets = [0, 0.002, 0.0041, 0.0084, 0.017, 0.035, 0.07, 0.14, 0.29, 0.59, 1.2, 2.4, 4.9, 10];

    private static readonly string[] RequestLabels = ["model", "endpoint", "request_type"];
    private static readonly string[] OutcomeLabels = ["model", "endpoint", "request_type", "status", "error_type"];
    private static readonly string[] ModelLabel = ["model"];

    public SidecarMetrics(IOptions<SidecarOptions> options)
    {
        var prefix = options.Value.Metrics.Prefix + "_";
        if (options.Value.Metrics.ConstantLabels.Count > 0)
        {
            // On the registry, before any family exists: every family of this registry carries them, none can forget.
            Registry.SetStaticLabels(options.Value.Metrics.ConstantLabels);
        }

        var factory = Metrics.WithCustomRegistry(Registry);
        // Dynamo's metrics carry no exemplars; prometheus-net's default would capture the request's trace
        // context on every Inc and Observe, a quarter of the sidecar's CPU per event under a fast worker.
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();

        RequestsStarted = factory.CreateCounter(prefix + "requests_started_total", "Metered requests accepted.", RequestLabels);
        Requests = factory.CreateCounter(prefix + "requests_total", "Metered requests ended, by status and error type.", OutcomeLabels);
        Inflight = factory.CreateGauge(prefix + "inflight_requests", "Metered requests accepted and not yet ended.", ModelLabel);
        Active = factory.CreateGauge(prefix + "active_requests", "Same as inflight_requests (newer Dynamo name).", ModelLabel);
        Queued = factory.CreateGauge(prefix + "queued_requests", "Metered requests accepted that have no first content chunk (unary: no response headers) yet.", ModelLabel);
        DisconnectedClients = factory.CreateGauge(prefix + "disconnected_clients", "Clients that disconnected before their response ended.");
        Cancellations = factory.CreateCounter(prefix + "model_cancellation_total", "Requests cancelled because the client disconnected.", RequestLabels);
        Duration = Histogram(factory, prefix + "request_duration_seconds", "From accepted to the last byte sent.", DurationBuckets);
        TimeToFirstToken = Histogram(factory, prefix + "time_to_first_token_seconds", "From accepted to the first chunk carrying generated content.", TimeToFirstTokenBuckets);
        InterTokenLatency = Histogram(factory, prefix + "inter_token_latency_seconds", "Gap between content chunks divided by their tokens, observed once per token.", InterTokenLatencyBuckets);
        InputSequenceTokens = Histogram(factory, prefix + "input_sequence_tokens", "Prompt tokens reported by the worker.", InputTokenBuckets);
        OutputSequenceTokens = Histogram(factory, prefix + "output_sequence_tokens", "Output tokens of a request.", OutputTokenBuckets);
        CachedSequenceLength = Histogram(factory, prefix + "cached_sequence_length", "Prompt tokens served from the worker's prefix cache.", InputTokenBuckets);
        CachedTokens = Histogram(factory, prefix + "cached_tokens", "Prompt tokens served from the worker's prefix cache (same as cached_sequence_length, newer Dynamo name).", InputTokenBuckets);
        ReasoningTokens = Histogram(factory, prefix + "reasoning_tokens", "Reasoning tokens of a request, when the worker reports them.", OutputTokenBuckets);
        EmbeddingLatency = Histogram(factory, prefix + "embedding_latency_seconds", "Embeddings requests: from accepted to the last byte sent.", EmbeddingLatencyBuckets);
        OutputTokens = factory.CreateCounter(prefix + "output_tokens_total", "Output tokens, counted as each content chunk passes.", ModelLabel);
        ModelReady = factory.CreateGauge(prefix + "model_ready", "1 while the worker lists the model on /v1/models and answers its readiness probe, 0 after it stops.", ModelLabel);
        ModelContextLength = factory.CreateGauge(prefix + "model_context_length", "Context length the worker publishes for the model (max_model_len on /v1/models, n_ctx on llama.cpp's /props).", ModelLabel);
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public Counter RequestsStarted { get; }
    public Counter Requests { get; }
    public Gauge Inflight { get; }
    public Gauge Active { get; }
    public Gauge Queued { get; }
    public Gauge DisconnectedClients { get; }
    public Counter Cancellations { get; }
    public Histogram Duration { get; }
    public Histogram TimeToFirstToken { get; }
    public Histogram InterTokenLatency { get; }
    public Histogram InputSequenceTokens { get; }
    public Histogram OutputSequenceTokens { get; }
    public Histogram CachedSequenceLength { get; }
    public Histogram CachedTokens { get; }
    public Histogram ReasoningTokens { get; }
    public Histogram EmbeddingLatency { get; }
    public Counter OutputTokens { get; }
    public Gauge ModelReady { get; }
    public Gauge ModelContextLength { get; }

    private static Histogram Histogram(MetricFactory factory, string name, string help, double[] buckets) =>
        factory.CreateHistogram(name, help, new HistogramConfiguration { LabelNames = ModelLabel, Buckets = buckets });
}

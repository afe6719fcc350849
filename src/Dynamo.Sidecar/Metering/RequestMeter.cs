using Dynamo.Sidecar.OpenAi;
using Prometheus;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// The accounting of one metered request, from accepted (step 1) to closed (step 8). Counts live in plain
/// fields while the response flows (step 6); metrics are touched only where SPEC §2 says they are observed, and
/// what the chunks counted since the last <see cref="Publish"/> added is published there (step 7): chunks
/// between two publishes arrived together and are seen at the same instant (0 s apart), and a fast worker's
/// hundred chunks per read cost one update of the shared metrics instead of a hundred. Not thread-safe: the
/// proxy reads a response on one logical thread, and <see cref="Complete"/> comes after the last read.
/// </summary>
internal sealed class RequestMeter
{
    // Far above any real chunk (speculative decoding emits tens of tokens), far below what would
    // overflow the histogram's count if a worker reported an absurd usage.
    private const long MaxLatencyObservationsPerChunk = 65_536;

    private const long NoRead = long.MinValue;

    private static readonly Exemplar.LabelKey TraceIdKey = Exemplar.Key("trace_id");

    private readonly SidecarMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly long _acceptedAt;

    // Children resolved once per request, never per chunk.
    private readonly Counter.Child _outputTokens;
    private readonly Histogram.Child _interTokenLatency;
    private readonly Gauge.Child _queued;

    private bool _queuedLeft;
    private bool _sawContent;
    private long _lastContentAt;
    private UsageTally _tally = new();

    // When the chunks since the last Publish arrived, and what they added, published there.
    private long _readAt = NoRead;
    private long _unpublishedTokens;
    private long _unpublishedZeroGapTokens;
    private bool _endedWell;
    private RequestOutcome? _streamError;
    private bool _completed;

    // Kept only for RequestSummary and exemplars: request-end observers that are off cost nothing.
    private long _firstContentAt = NoRead;
    private long _endedAt;

    public RequestMeter(SidecarMetrics metrics, TimeProvider time, string model, MeteredEndpoint endpoint, bool isStream)
    {
        _metrics = metrics;
        _time = time;
        Model = model;
        Endpoint = endpoint;
        IsStream = isStream;
        _acceptedAt = time.GetTimestamp();

        _outputTokens = metrics.OutputTokens.WithLabels(model);
        _interTokenLatency = metrics.InterTokenLatency.WithLabels(model);
        _queued = metrics.Queued.WithLabels(model);

        metrics.RequestsStarted.WithLabels(model, endpoint.Label(), RequestType).Inc();
        metrics.Inflight.WithLabels(model).Inc();
        metrics.Active.WithLabels(model).Inc();
        _queued.Inc();
    }

    public string Model { get; }

    public MeteredEndpoint Endpoint { get; }

    public bool IsStream { get; }

    /// <summary>The worker ended the stream the way a finished generation ends (SPEC §2).</summary>
    public bool EndedWell => _endedWell;

    /// <summary>The first error the worker reported inside its stream, if any: it decides the outcome (SPEC §2).</summary>
    public RequestOutcome? StreamError => _streamError;

    /// <summary>
    /// The trace id of a sampled trace the request belongs to, when exemplars are on: its TTFT, duration and
    /// output-token observations carry it. Null (the default) records them exactly as without exemplars.
    /// </summary>
    public string? ExemplarTraceId { get; set; }

    private string RequestType => IsStream ? "stream" : "unary";

    /// <summary>Response headers arrived; a unary request stops being queued here.</summary>
    public void OnResponseStarted()
    {
        if (!IsStream)
        {
            LeaveQueue();
        }
    }

    /// <summary>The stream's <c>[DONE]</c> sentinel.</summary>
    public void OnDone() => _endedWell = true;

    /// <summary>Step 6: counts one streamed chunk or event, as it passes.</summary>
    public void OnChunk(in ChunkFacts chunk)
    {
        _endedWell |= chunk.Finished;
        if (chunk.ErrorStatusCode != 0 && _streamError is null)
        {
            _streamError = RequestOutcome.FromStatusCode(chunk.ErrorStatusCode);
        }

        var tokens = _tally.OnChunk(chunk);
        if (chunk.OutputChoices > 0)
        {
            OnContent(tokens);
        }
    }

    /// <summary>
    /// Step 7: the chunks counted since the last call arrived together (one upstream read): publishes the output tokens
    /// they added and the inter-token latencies of the chunks that came with the content chunk before them.
    /// </summary>
    public void Publish()
    {
        _readAt = NoRead;
        if (_unpublishedTokens > 0)
        {
            _outputTokens.Inc(_unpublishedTokens);
            _unpublishedTokens = 0;
        }

        if (_unpublishedZeroGapTokens > 0)
        {
            _interTokenLatency.Observe(0, _unpublishedZeroGapTokens);
            _unpublishedZeroGapTokens = 0;
        }
    }

    /// <summary>The usage of a unary response, read once the whole body has passed.</summary>
    public void OnUnaryUsage(Usage usage) => _tally.OnRequestTotal(usage);

    /// <summary>Step 8: ends the request, publishes everything observed at the end and releases the gauges. Idempotent.</summary>
    public void Complete(RequestOutcome outcome)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        Publish();
        var model = Model;
        var completion = _tally.Completion;
        var live = _tally.LiveTokens;
        if (completion > live)
        {
            // Counters never go down, so the live count only ever tops up to the worker's figure.
            _outputTokens.Inc(completion - live);
        }

        if (_tally.Prompt >= 0)
        {
            _metrics.InputSequenceTokens.WithLabels(model).Observe(_tally.Prompt);
        }

        if (_tally.Cached >= 0)
        {
            _metrics.CachedSequenceLength.WithLabels(model).Observe(_tally.Cached);
            _metrics.CachedTokens.WithLabels(model).Observe(_tally.Cached);
        }

        _endedAt = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_acceptedAt, _endedAt).TotalSeconds;
        if (Endpoint == MeteredEndpoint.Embeddings)
        {
            _metrics.EmbeddingLatency.WithLabels(model).Observe(elapsed);
        }
        else
        {
            if (completion >= 0 || live > 0)
            {
                _metrics.OutputSequenceTokens.WithLabels(model).Observe(_tally.Output, TraceExemplar());
            }

            if (_tally.Reasoning >= 0)
            {
                _metrics.ReasoningTokens.WithLabels(model).Observe(_tally.Reasoning);
            }
        }

        _metrics.Duration.WithLabels(model).Observe(elapsed, TraceExemplar());
        var endpoint = Endpoint.Label();
        _metrics.Requests.WithLabels(model, endpoint, RequestType, outcome.Status, outcome.ErrorType).Inc();
        if (outcome.ClientDisconnected)
        {
            _metrics.DisconnectedClients.Inc();
            _metrics.Cancellations.WithLabels(model, endpoint, RequestType).Inc();
        }

        LeaveQueue();
        _metrics.Inflight.WithLabels(model).Dec();
        _metrics.Active.WithLabels(model).Dec();
    }

    private void OnContent(long tokens)
    {
        if (_readAt == NoRead)
        {
            _readAt = _time.GetTimestamp();
        }

        if (!_sawContent)
        {
            _sawContent = true;
            _lastContentAt = _readAt;
            _firstContentAt = _readAt;
            _metrics.TimeToFirstToken.WithLabels(Model).Observe(_time.GetElapsedTime(_acceptedAt, _readAt).TotalSeconds, TraceExemplar());
            LeaveQueue();
        }
        else if (tokens > 0)
        {
            var observations = Math.Min(tokens, MaxLatencyObservationsPerChunk);
            if (_lastContentAt == _readAt)
            {
                _unpublishedZeroGapTokens += observations;
            }
            else
            {
                _interTokenLatency.Observe(_time.GetElapsedTime(_lastContentAt, _readAt).TotalSeconds / tokens, observations);
                _lastContentAt = _readAt;
            }
        }

        if (tokens > 0)
        {
            _unpublishedTokens = Saturating(_unpublishedTokens, tokens);
        }
    }

    /// <summary>What the request came to, for the request-end observers; call after <see cref="Complete"/>.</summary>
    public RequestSummary Summarize(RequestOutcome outcome, int httpStatus) => new(
        Model,
        Endpoint,
        IsStream,
        httpStatus,
        outcome,
        InputTokens: _tally.Prompt,
        OutputTokens: _tally.Output,
        CachedTokens: _tally.Cached,
        ReasoningTokens: _tally.Reasoning,
        TimeToFirstToken: _firstContentAt == NoRead ? null : _time.GetElapsedTime(_acceptedAt, _firstContentAt),
        Duration: _time.GetElapsedTime(_acceptedAt, _endedAt));

    // Null asks prometheus-net for the family's default, which is no exemplar (SidecarMetrics).
    private Exemplar? TraceExemplar() =>
        ExemplarTraceId is { } traceId ? Exemplar.From(TraceIdKey.WithValue(traceId)) : null;

    private static long Saturating(long total, long add) => add > long.MaxValue - total ? long.MaxValue : total + add;

    private void LeaveQueue()
    {
        if (!_queuedLeft)
        {
            _queuedLeft = true;
            _queued.Dec();
        }
    }
}

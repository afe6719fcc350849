using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Metrics;

/// <summary>
/// The counters behind <c>GET /metrics</c>, named like vLLM's so dashboards and scrapers built for vLLM work
/// unchanged. Updated once per request, never per token.
/// </summary>
internal sealed class WorkerMetrics
{
    /// <summary>The Prometheus text exposition content type that vLLM's metrics endpoint returns.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private const string ModelLabel = "{model_name=\"" + SimulatedModel.Id + "\"}";

    // Request model names are client input: bounded like the sidecar bounds its model label.
    private const int MaxRequestModels = 32;
    private const string OtherModels = "other";

    private long _running;
    private long _promptTokens;
    private long _generationTokens;
    private long _succeeded;
    private long _aborted;
    private long _prefixCacheQueries;
    private long _prefixCacheHits;
    private long _cut;
    private readonly ConcurrentDictionary<string, StrongBox<long>> _tokensByRequestModel = new(StringComparer.Ordinal);

    /// <summary>Records a prompt entering the engine and what the prefix cache did for it.</summary>
    public void PromptAdmitted(int promptTokens, int cachedTokens)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _prefixCacheQueries, promptTokens);
        Interlocked.Add(ref _prefixCacheHits, cachedTokens);
    }

    /// <summary>Records prompt tokens of a request that skips the prefix cache (embeddings).</summary>
    public void PromptEmbedded(int promptTokens) => Interlocked.Add(ref _promptTokens, promptTokens);

    public void GenerationStarted() => Interlocked.Increment(ref _running);

    /// <summary>Records the end of a generation however it ended, with the tokens it handed to the client until then.</summary>
    /// <param name="requestModel">The request's <c>model</c> field, so a test can tell apart groups of requests.</param>
    /// <param name="generatedTokens">Tokens written to the response (a stream's tokens up to a cut, stall or disconnect).</param>
    public void GenerationFinished(JsonEncodedText requestModel, int generatedTokens)
    {
        Interlocked.Decrement(ref _running);
        Interlocked.Add(ref _generationTokens, generatedTokens);
        // JSON-escaped, so no quote or newline can break the exposition line it is printed into.
        var model = requestModel.Value;
        if (!_tokensByRequestModel.TryGetValue(model, out var tokens))
        {
            tokens = _tokensByRequestModel.Count < MaxRequestModels
                ? _tokensByRequestModel.GetOrAdd(model, static _ => new StrongBox<long>())
                : _tokensByRequestModel.GetOrAdd(OtherModels, static _ => new StrongBox<long>());
        }

        Interlocked.Add(ref tokens.Value, generatedTokens);
    }

    public void RequestSucceeded() => Interlocked.Increment(ref _succeeded);

    public void RequestAborted() => Interlocked.Increment(ref _aborted);

    /// <summary>Records a connection dropped on purpose (<c>x-sim-fault: cut-after=N</c>).</summary>
    public void RequestCut() => Interlocked.Increment(ref _cut);

    public string Render()
    {
        var text = new StringBuilder(1536);
        Append(text, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", ModelLabel, Volatile.Read(ref _running));
        Append(text, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", ModelLabel, Volatile.Read(ref _promptTokens));
        Append(text, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", ModelLabel, Volatile.Read(ref _generationTokens));
        Append(text, "vllm:request_success_total", "counter", "Count of successfully processed requests.",
            "{finished_reason=\"length\",model_name=\"" + SimulatedModel.Id + "\"}", Volatile.Read(ref _succeeded));
        Append(text, "vllm:request_aborted_total", "counter", "Count of requests whose client disconnected before the end (simulated worker only).", ModelLabel, Volatile.Read(ref _aborted));
        Append(text, "vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.", ModelLabel, Volatile.Read(ref _prefixCacheQueries));
        Append(text, "vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.", ModelLabel, Volatile.Read(ref _prefixCacheHits));
        Append(text, "sim:request_cut_total", "counter", "Requests whose connection the worker dropped on purpose (x-sim-fault: cut-after=N).", ModelLabel, Volatile.Read(ref _cut));
        const string tokensByModel = "sim:output_tokens_by_request_model_total";
        text.Append(CultureInfo.InvariantCulture, $"# HELP {tokensByModel} Output tokens written to responses, by the request's model field (the first {MaxRequestModels} names, then other).\n# TYPE {tokensByModel} counter\n");
        foreach (var (model, tokens) in _tokensByRequestModel)
        {
            text.Append(CultureInfo.InvariantCulture, $"{tokensByModel}{{model=\"{model}\"}} {Volatile.Read(ref tokens.Value)}.0\n");
        }

        return text.ToString();
    }

    // Python's prometheus_client prints every sample as a float ("3.0"); scrapers that diff against vLLM expect that.
    private static void Append(StringBuilder text, string name, string type, string help, string labels, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name}{labels} {value}.0\n");
}

namespace Dynamo.Sidecar.SimulatedWorker.Options;

/// <summary>
/// How the simulated worker sizes and paces its output. Bound from the <c>Worker</c> configuration section
/// and checked at start by <see cref="WorkerOptionsValidator"/>.
/// </summary>
/// <remarks>
/// A request may override pacing with the <c>x-sim-tokens-per-second</c> and <c>x-sim-ttft-ms</c> headers, and
/// ask for a fault with <c>x-sim-fault</c>: <c>cut-after=N</c>, <c>stall-after=N</c> or <c>status=S</c>
/// (<see cref="Faults.SimulatedFault"/>).
/// </remarks>
internal sealed record WorkerOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Worker";

    /// <summary>
    /// Decode speed per request, in tokens per second, at most 1,000,000. <c>0</c> emits tokens as fast as possible,
    /// with no delay at all between them. A request may override it with the <c>x-sim-tokens-per-second</c> header.
    /// </summary>
    public double TokensPerSecond { get; init; } = 50;

    /// <summary>
    /// Simulated prefill time in milliseconds before the first token, at most 600,000; <c>0</c> for none.
    /// A request may override it with the <c>x-sim-ttft-ms</c> header.
    /// </summary>
    public int TimeToFirstTokenMs { get; init; } = 20;

    /// <summary>Output length per choice when a request sets neither <c>max_completion_tokens</c> nor <c>max_tokens</c>.</summary>
    public int DefaultMaxTokens { get; init; } = 16;

    /// <summary>
    /// Tokens per KV-cache block for automatic prefix caching: only whole blocks are cached,
    /// so reported <c>cached_tokens</c> are always a multiple of this. From 1 to 256.
    /// </summary>
    public int PrefixCacheBlockTokens { get; init; } = 16;
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>Percentiles of one latency distribution, in milliseconds.</summary>
internal sealed record Percentiles(double P50, double P90, double P99, double Max, int Count)
{
    public static Percentiles? Of(double[] values)
    {
        if (values.Length == 0)
        {
            return null;
        }

        Array.Sort(values);
        return new Percentiles(Rank(values, 0.50), Rank(values, 0.90), Rank(values, 0.99), values[^1], values.Length);
    }

    // Nearest-rank percentile of sorted values.
    private static double Rank(double[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
}

/// <summary>
/// One time-to-first-token probe: seconds into the measurement window when it was sent (and the wall-clock time, to
/// find it in a proxy's logs), and its TTFT.
/// </summary>
internal sealed record ProbeSample(double AtSeconds, DateTime SentUtc, double TtftMs);

/// <summary>CPU and memory of the measured processes over the load window.</summary>
internal sealed record ProcessUsage(
    int[] Pids,
    double CpuSeconds,
    double? CpuMicrosecondsPerEvent,
    long RssIdleBytes,
    long RssPeakSampledBytes,
    long? RssAllOpenBytes,
    long? RssPerOpenStreamBytes,
    long VmHwmBytes);

/// <summary>One load run as the client saw it. Serialized as the tool's <c>--json</c> output.</summary>
internal sealed record LoadResult
{
    public required string Label { get; init; }
    public required string Url { get; init; }
    public required int Streams { get; init; }
    public required int Tokens { get; init; }
    public double? Rate { get; init; }
    public double? DurationSeconds { get; init; }
    public double RampSeconds { get; init; }

    public required int Requests { get; init; }
    public required int Completed { get; init; }
    public required int Cut { get; init; }
    public required int Errors { get; init; }
    public string? FirstError { get; init; }

    public required long Events { get; init; }
    public required double WallSeconds { get; init; }
    public required double EventsPerSecond { get; init; }
    public required int MaxOpenStreams { get; init; }

    /// <summary>Request sent to first event carrying text.</summary>
    public Percentiles? TtftMs { get; init; }

    /// <summary>Gap between consecutive events of a stream, after its first content event.</summary>
    public Percentiles? GapMs { get; init; }

    public string? BaselineLabel { get; init; }

    /// <summary>This run's gap percentile minus the baseline's (same load sent straight to the worker).</summary>
    public Percentiles? AddedGapMs { get; init; }

    public Percentiles? AddedTtftMs { get; init; }

    /// <summary>Paced runs (<c>--window</c>): how long the window was, and streams that ended inside it (should be 0).</summary>
    public double? WindowSeconds { get; init; }

    public int? StreamsClosedInWindow { get; init; }

    /// <summary>Paced runs: time to first token of probes on fresh connections, sent while every stream was open.</summary>
    public Percentiles? ProbeTtftMs { get; init; }

    public Percentiles? AddedProbeTtftMs { get; init; }

    public IReadOnlyList<ProbeSample> SlowestProbes { get; init; } = [];

    /// <summary>Unary runs (<c>--unary</c>): request sent to last byte of the body.</summary>
    public Percentiles? UnaryLatencyMs { get; init; }

    public Percentiles? AddedUnaryLatencyMs { get; init; }

    /// <summary>Unary runs: mean body length of an answer.</summary>
    public long? UnaryResponseBytes { get; init; }

    public ProcessUsage? Proxy { get; init; }
    public double? WorkerCpuSeconds { get; init; }

    /// <summary>The machine's 1-minute load average when the window opened and when it closed (others' work shows here).</summary>
    public double[] LoadAverage { get; init; } = [];

    public required double LoadToolCpuSeconds { get; init; }

    /// <summary>Load tool CPU seconds per wall second: 1.0 is one core busy all the time.</summary>
    public required double LoadToolCores { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, LoadJsonContext.Default.LoadResult);

    public static LoadResult Read(string path) =>
        JsonSerializer.Deserialize(File.ReadAllText(path), LoadJsonContext.Default.LoadResult)
        ?? throw new InvalidDataException($"{path} holds no result.");

    /// <summary>Difference of two distributions, percentile by percentile (the count is this run's).</summary>
    public static Percentiles? Added(Percentiles? run, Percentiles? baseline) =>
        run is null || baseline is null ? null
            : new Percentiles(run.P50 - baseline.P50, run.P90 - baseline.P90, run.P99 - baseline.P99, run.Max - baseline.Max, run.Count);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(LoadResult))]
internal sealed partial class LoadJsonContext : JsonSerializerContext;

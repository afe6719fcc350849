using System.Diagnostics;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// The measurement window of a paced run (<c>--window</c>): it opens once every stream is open (and has settled
/// for a second), takes the proxy's CPU and the events over a fixed time while they all stay open, and meanwhile
/// sends <c>--probes</c> time-to-first-token probes, each on a connection of its own, as a new client would.
/// </summary>
internal sealed class PacedWindow
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(30);
    private const int SlowestKept = 5;

    /// <summary>The run's streams as the window sees them.</summary>
    public sealed record Load(LoadOptions Options, Uri Endpoint, IReadOnlyList<int> Pids, Func<int> Open, Func<int> Closed, Func<long> StreamEvents, Task[] Streams);

    public double ProxyCpuSeconds { get; private init; }
    public long Events { get; private init; }
    public double WallSeconds { get; private init; }

    /// <summary>Streams that ended inside the window (should be 0: the window measures all of them open).</summary>
    public int StreamsClosed { get; private init; }

    public Percentiles? ProbeTtftMs { get; private init; }
    public IReadOnlyList<string> ProbeErrors { get; private init; } = [];

    /// <summary>The slowest probes, slowest first: when in the window each was sent, and its time to first token.</summary>
    public IReadOnlyList<ProbeSample> SlowestProbes { get; private init; } = [];

    /// <summary>Why the window never opened (not every stream was open in time), or null.</summary>
    public string? Missed { get; private init; }

    public static async Task<PacedWindow> RunAsync(Load load, TimeSpan length, CancellationToken cancellationToken)
    {
        var waitUntil = Stopwatch.GetTimestamp() + (long)((load.Options.Ramp + OpenTimeout).TotalSeconds * Stopwatch.Frequency);
        while (load.Open() < load.Options.Streams)
        {
            if (Stopwatch.GetTimestamp() > waitUntil || load.Streams.Any(s => s.IsCompleted) || cancellationToken.IsCancellationRequested)
            {
                return new PacedWindow { Missed = $"the window never opened: {load.Open()} of {load.Options.Streams} streams open at once" };
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None).ConfigureAwait(false);
        }

        try
        {
            return await MeasureAsync(load, length, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new PacedWindow { Missed = "the window was cut by --timeout" };
        }
    }

    private static async Task<PacedWindow> MeasureAsync(Load load, TimeSpan length, CancellationToken cancellationToken)
    {
        await Task.Delay(Settle, cancellationToken).ConfigureAwait(false);
        var hasProxy = load.Pids.Count > 0;
        var cpuBefore = hasProxy ? ProcessStats.CpuSeconds(load.Pids) : 0;
        var eventsBefore = load.StreamEvents();
        var closedBefore = load.Closed();
        var started = Stopwatch.GetTimestamp();

        var probing = ProbeAsync(load, cancellationToken);
        await Task.WhenAll(Task.Delay(length, cancellationToken), probing).ConfigureAwait(false);
        var (probes, probeEvents, errors) = await probing.ConfigureAwait(false);
        var ttfts = probes.Select(p => p.TtftMs).ToArray();

        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new PacedWindow
        {
            ProxyCpuSeconds = hasProxy ? ProcessStats.CpuSeconds(load.Pids) - cpuBefore : 0,
            Events = load.StreamEvents() - eventsBefore + probeEvents,
            WallSeconds = wall,
            StreamsClosed = load.Closed() - closedBefore,
            ProbeTtftMs = Percentiles.Of(ttfts),
            ProbeErrors = errors,
            SlowestProbes = [.. probes.OrderByDescending(p => p.TtftMs).Take(SlowestKept)],
        };
    }

    /// <summary>One probe after another: a 1-token stream on a fresh connection, timed from send to its first token.</summary>
    private static async Task<(List<ProbeSample> Probes, long Events, List<string> Errors)> ProbeAsync(Load load, CancellationToken cancellationToken)
    {
        var windowStart = Stopwatch.GetTimestamp();
        var options = load.Options;
        var body = ChatStream.RequestBody(options.Model, tokens: 1);
        var gaps = new LatencyHistogram();
        var probes = new List<ProbeSample>(options.Probes);
        var errors = new List<string>();
        var events = 0L;
        for (var i = 0; i < options.Probes && !cancellationToken.IsCancellationRequested; i++)
        {
            // A handler of its own: nothing pooled, so the probe pays for a new TCP connection through the proxy.
            using var handler = LoadCommand.NewHandler();
            using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            var record = new StreamRecord(gaps);
            var sentUtc = DateTime.UtcNow;
            await ChatStream.RunAsync(client, load.Endpoint, body, options.Rate, options.Headers, record,
                static () => { }, static () => { }, cancellationToken).ConfigureAwait(false);
            events += record.Events;
            if (record.Error is { } error)
            {
                errors.Add("probe: " + error);
            }
            else if (record.FirstContent != 0)
            {
                probes.Add(new ProbeSample(
                    (record.Started - windowStart) / (double)Stopwatch.Frequency,
                    sentUtc,
                    (record.FirstContent - record.Started) * 1000.0 / Stopwatch.Frequency));
            }

            await Task.Delay(options.ProbeInterval, cancellationToken).ConfigureAwait(false);
        }

        return (probes, events, errors);
    }
}

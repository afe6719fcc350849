using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>One load run: warm-up, N concurrent streams, then the client's and the processes' figures.</summary>
internal static class LoadCommand
{
    private const int WarmupTokens = 500;
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken stop)
    {
        LoadOptions options;
        LoadResult? baseline;
        try
        {
            options = LoadOptions.Parse(args);
            foreach (var pid in options.Pids.Append(options.WorkerPid ?? options.Pids.FirstOrDefault()).Where(pid => pid > 0 && !ProcessStats.Exists(pid)))
            {
                throw new ArgumentException($"No process {pid} (--pid / --worker-pid).");
            }

            baseline = options.BaselineFile is { } file ? LoadResult.Read(file) : null;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or System.Text.Json.JsonException)
        {
            await stderr.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        using var handler = NewHandler();
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var endpoint = new Uri(options.Url.ToString().TrimEnd('/') + "/v1/chat/completions");

        using var runLimit = CancellationTokenSource.CreateLinkedTokenSource(stop);
        runLimit.CancelAfter(options.Timeout);

        // A unary run warms up with its own requests (UnaryLoad); a gateway may not stream at all.
        if (options.Warmup > TimeSpan.Zero && options.Unary is null)
        {
            var warmupError = await WarmUpAsync(client, endpoint, options, runLimit.Token).ConfigureAwait(false);
            if (warmupError is not null)
            {
                await stderr.WriteLineAsync($"warm-up against {endpoint} failed: {warmupError}").ConfigureAwait(false);
                return 1;
            }

            // Let tiered compilation finish promoting what the warm-up made hot, and the measured processes' memory
            // settle, before the window opens: idle RSS is what a quiet process holds, not one caught mid-burst.
            await Task.Delay(TimeSpan.FromSeconds(1), runLimit.Token).ConfigureAwait(false);
            await MemorySampler.SettleAsync(options.Pids, runLimit.Token).ConfigureAwait(false);
        }

        LoadResult result;
        try
        {
            result = options.Unary is { } requests
                ? await UnaryLoad.MeasureAsync(client, endpoint, options, requests, baseline, runLimit.Token).ConfigureAwait(false)
                : await MeasureAsync(client, endpoint, options, baseline, runLimit.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (options.Unary is not null)
        {
            await stderr.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 1;
        }
        var json = result.ToJson();
        if (options.OutFile is { } outFile)
        {
            await File.WriteAllTextAsync(outFile, json + "\n", CancellationToken.None).ConfigureAwait(false);
        }

        await stdout.WriteLineAsync(options.Json ? json : Describe(result)).ConfigureAwait(false);
        if (result.Errors > 0)
        {
            await stderr.WriteLineAsync($"{result.Errors} stream(s) failed; first: {result.FirstError}").ConfigureAwait(false);
        }

        return result.Errors > 0 || result.Events == 0 ? 1 : 0;
    }

    public static SocketsHttpHandler NewHandler() => new()
    {
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxConnectionsPerServer = int.MaxValue,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>
    /// Streams as fast as the worker can for the warm-up time (up to 64 at once, 500 tokens each), so that every
    /// process on the path has compiled its hot code to the final tier before the window opens.
    /// </summary>
    private static async Task<string?> WarmUpAsync(HttpClient client, Uri endpoint, LoadOptions options, CancellationToken cancellationToken)
    {
        var body = ChatStream.RequestBody(options.Model, Math.Min(options.Tokens, WarmupTokens));
        var gaps = new LatencyHistogram();
        using var end = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        end.CancelAfter(options.Warmup);
        string? error = null;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(options.Streams, 64)).Select(_ => Task.Run(async () =>
        {
            while (!end.IsCancellationRequested && Volatile.Read(ref error) is null)
            {
                var record = new StreamRecord(gaps);
                await ChatStream.RunAsync(client, endpoint, body, rate: 0, options.Headers, record, static () => { }, static () => { }, end.Token).ConfigureAwait(false);
                if (record.Error is not null)
                {
                    Interlocked.CompareExchange(ref error, record.Error, null);
                }
            }
        }, CancellationToken.None))).ConfigureAwait(false);
        return cancellationToken.IsCancellationRequested ? "stopped" : error;
    }

    private static async Task<LoadResult> MeasureAsync(HttpClient client, Uri endpoint, LoadOptions options, LoadResult? baseline, CancellationToken runLimit)
    {
        var body = ChatStream.RequestBody(options.Model, options.Tokens);
        using var durationEnd = new CancellationTokenSource();
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(runLimit, durationEnd.Token);
        var records = new List<StreamRecord>();
        var gapHistogram = new LatencyHistogram();
        var open = 0;
        var maxOpen = 0;
        var closedStreams = 0;

        var pids = options.Pids;
        var hasProxy = pids.Count > 0;
        var sampler = hasProxy ? new MemorySampler(pids, options.Streams, () => Volatile.Read(ref open)) : null;
        var proxyCpuBefore = hasProxy ? ProcessStats.CpuSeconds(pids) : 0;
        var workerCpuBefore = options.WorkerPid is { } w ? ProcessStats.CpuSeconds(w) : 0;
        var selfCpuBefore = ProcessStats.CpuSeconds(Environment.ProcessId);
        using var samplerStop = new CancellationTokenSource();
        var sampling = sampler?.RunAsync(SampleInterval, samplerStop.Token) ?? Task.CompletedTask;

        var loadBefore = ProcessStats.LoadAverage();
        var started = Stopwatch.GetTimestamp();
        if (options.Duration is { } duration)
        {
            durationEnd.CancelAfter(duration);
        }

        var streams = Enumerable.Range(0, options.Streams).Select(index => Task.Run(async () =>
        {
            var delay = options.Ramp * index / options.Streams;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cut.Token).ConfigureAwait(false);
            }

            do
            {
                var record = new StreamRecord(gapHistogram);
                lock (records)
                {
                    records.Add(record);
                }

                await ChatStream.RunAsync(client, endpoint, body, options.Rate, options.Headers, record,
                    opened: () =>
                    {
                        var now = Interlocked.Increment(ref open);
                        InterlockedMax(ref maxOpen, now);
                    },
                    closed: () =>
                    {
                        Interlocked.Decrement(ref open);
                        Interlocked.Increment(ref closedStreams);
                    },
                    cut.Token).ConfigureAwait(false);
            }
            while (options.Duration is not null && !cut.IsCancellationRequested);
        }, CancellationToken.None)).ToArray();

        PacedWindow? window = null;
        if (options.Window is { } windowLength)
        {
            window = await PacedWindow.RunAsync(new PacedWindow.Load(options, endpoint, pids, () => Volatile.Read(ref open), () => Volatile.Read(ref closedStreams),
                () => { lock (records) { return records.Sum(r => (long)r.Events); } }, streams), windowLength, cut.Token).ConfigureAwait(false);
            await durationEnd.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(streams).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cut.IsCancellationRequested)
        {
            // Stopped during a ramp delay: those streams never started.
        }

        var ended = Stopwatch.GetTimestamp();
        var proxyCpu = hasProxy ? ProcessStats.CpuSeconds(pids) - proxyCpuBefore : 0;
        var workerCpu = options.WorkerPid is { } wp ? ProcessStats.CpuSeconds(wp) - workerCpuBefore : (double?)null;
        var selfCpu = ProcessStats.CpuSeconds(Environment.ProcessId) - selfCpuBefore;
        await samplerStop.CancelAsync().ConfigureAwait(false);
        await sampling.ConfigureAwait(false);

        // Cut by the hard time limit (not by --duration): the run did not finish, which is an error.
        var timedOut = runLimit.IsCancellationRequested && !durationEnd.IsCancellationRequested;
        var wall = Stopwatch.GetElapsedTime(started, ended).TotalSeconds;
        var events = records.Sum(r => (long)r.Events);
        var ttft = Percentiles.Of([.. records.Where(r => r.FirstContent != 0).Select(r => Milliseconds(r.FirstContent - r.Started))]);
        var gaps = gapHistogram.Percentiles();
        var errors = records.Where(r => r.Error is not null || (r.Cut && timedOut)).Select(r => r.Error ?? "cut by --timeout")
            .Concat(window?.ProbeErrors ?? []).ToArray();
        if (window is { Missed: { } missed })
        {
            errors = [.. errors, missed];
        }

        // A paced run's figures are the window's: every stream open, the ramp and the cut left out.
        if (window is not null)
        {
            proxyCpu = window.ProxyCpuSeconds;
            events = window.Events;
            wall = window.WallSeconds;
        }

        ProcessUsage? proxy = null;
        if (sampler is not null)
        {
            var allOpen = sampler.RssAllOpenBytes;
            proxy = new ProcessUsage(
                [.. pids],
                proxyCpu,
                events > 0 ? proxyCpu / events * 1e6 : null,
                sampler.RssIdleBytes,
                sampler.RssPeakBytes,
                allOpen,
                allOpen is { } a ? (a - sampler.RssIdleBytes) / options.Streams : null,
                ProcessStats.StatusBytes(pids, "VmHWM"));
        }

        return new LoadResult
        {
            Label = options.Label,
            Url = options.Url.ToString(),
            Streams = options.Streams,
            Tokens = options.Tokens,
            Rate = options.Rate,
            DurationSeconds = options.Duration?.TotalSeconds,
            RampSeconds = options.Ramp.TotalSeconds,
            Requests = records.Count,
            Completed = records.Count(r => r.Error is null && !r.Cut),
            WindowSeconds = window?.WallSeconds,
            StreamsClosedInWindow = window?.StreamsClosed,
            ProbeTtftMs = window?.ProbeTtftMs,
            AddedProbeTtftMs = LoadResult.Added(window?.ProbeTtftMs, baseline?.ProbeTtftMs),
            SlowestProbes = window?.SlowestProbes ?? [],
            Cut = records.Count(r => r.Cut),
            Errors = errors.Length,
            FirstError = errors.FirstOrDefault(),
            Events = events,
            WallSeconds = wall,
            EventsPerSecond = wall > 0 ? events / wall : 0,
            MaxOpenStreams = maxOpen,
            TtftMs = ttft,
            GapMs = gaps,
            BaselineLabel = baseline?.Label,
            AddedGapMs = LoadResult.Added(gaps, baseline?.GapMs),
            AddedTtftMs = LoadResult.Added(ttft, baseline?.TtftMs),
            Proxy = proxy,
            WorkerCpuSeconds = workerCpu,
            LoadAverage = [loadBefore, ProcessStats.LoadAverage()],
            LoadToolCpuSeconds = selfCpu,
            LoadToolCores = wall > 0 ? selfCpu / wall : 0,
        };
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static string Describe(LoadResult r)
    {
        var text = new System.Text.StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"{r.Label}: {r.Streams} streams x {r.Tokens} tokens at {(r.Rate is { } rate ? rate.ToString(c) : "default")} tokens/s");
        text.AppendLine(c, $"  requests {r.Requests}, completed {r.Completed}, cut {r.Cut}, errors {r.Errors}{(r.FirstError is null ? "" : $" (first: {r.FirstError})")}");
        text.AppendLine(c, $"  events {r.Events} in {r.WallSeconds:F2} s = {r.EventsPerSecond:F0} events/s, max open streams {r.MaxOpenStreams}");
        text.AppendLine(c, $"  TTFT ms        {Format(r.TtftMs)}");
        text.AppendLine(c, $"  gap ms         {Format(r.GapMs)}");
        if (r.BaselineLabel is not null)
        {
            text.AppendLine(c, $"  added gap ms   {Format(r.AddedGapMs)} (vs {r.BaselineLabel})");
            text.AppendLine(c, $"  added TTFT ms  {Format(r.AddedTtftMs)}");
        }

        if (r.WindowSeconds is { } windowSeconds)
        {
            text.AppendLine(c, $"  window {windowSeconds:F1} s with every stream open; streams closed in it {r.StreamsClosedInWindow}");
            text.AppendLine(c, $"  probe TTFT ms  {Format(r.ProbeTtftMs)} (fresh connections)");
            text.AppendLine(c, $"  slowest probes {string.Join(", ", r.SlowestProbes.Select(p => string.Create(c, $"{p.TtftMs:F1} ms at +{p.AtSeconds:F1} s")))}");
            if (r.BaselineLabel is not null)
            {
                text.AppendLine(c, $"  added probe TTFT ms {Format(r.AddedProbeTtftMs)}");
            }
        }

        if (r.UnaryLatencyMs is not null)
        {
            text.AppendLine(c, $"  unary ms       {Format(r.UnaryLatencyMs)}, {r.UnaryResponseBytes} bytes per answer");
            if (r.BaselineLabel is not null)
            {
                text.AppendLine(c, $"  added unary ms {Format(r.AddedUnaryLatencyMs)}");
            }
        }

        if (r.Proxy is { } p)
        {
            var perStream = p.RssPerOpenStreamBytes is { } bytes ? string.Create(c, $", {bytes / 1024.0:F1} KiB per open stream") : "";
            text.AppendLine(c, $"  proxy CPU {p.CpuSeconds:F2} s = {p.CpuMicrosecondsPerEvent:F2} us/event; RSS idle {p.RssIdleBytes / 1048576.0:F1} MiB, peak {p.RssPeakSampledBytes / 1048576.0:F1} MiB, VmHWM {p.VmHwmBytes / 1048576.0:F1} MiB{perStream}");
        }

        if (r.WorkerCpuSeconds is { } worker)
        {
            text.AppendLine(c, $"  worker CPU {worker:F2} s");
        }

        text.AppendLine(c, $"  machine load average (1 min) {string.Join(" -> ", r.LoadAverage.Select(l => l.ToString("F2", c)))}");
        text.AppendLine(c, $"  load tool CPU {r.LoadToolCpuSeconds:F2} s ({r.LoadToolCores:F2} cores of {Environment.ProcessorCount})");
        return text.ToString().TrimEnd();
    }

    private static string Format(Percentiles? p) => p is null
        ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"p50 {p.P50:F3}  p90 {p.P90:F3}  p99 {p.P99:F3}  max {p.Max:F3}  (n={p.Count})");
}

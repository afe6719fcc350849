using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Dynamo.Sidecar.LoadTool;
using Dynamo.Sidecar.SoakTool.Checks;
using Dynamo.Sidecar.SoakTool.Processes;
using Dynamo.Sidecar.SoakTool.Traffic;

namespace Dynamo.Sidecar.SoakTool;

/// <summary>
/// One soak: the real worker and sidecar processes, a warm-up, the memory baseline, the traffic, then the checks
/// of the sidecar's books and memory against what the clients and the worker counted.
/// </summary>
internal sealed class SoakRun(SoakOptions options, TextWriter output)
{
    private const string Prefix = "dynamo_frontend_";
    private static readonly string[] Gauges = ["inflight_requests", "active_requests", "queued_requests"];
    private static readonly string[] Groups = [SoakRequest.CleanModel, SoakRequest.WorkerFaultModel, SoakRequest.DisconnectModel];

    private readonly Uri _workerUrl = new($"http://127.0.0.1:{options.BasePort}/");
    private readonly Uri _proxyUrl = new($"http://127.0.0.1:{options.BasePort + 1}/");
    private readonly Uri _adminUrl = new($"http://127.0.0.1:{options.BasePort + 2}/");
    private readonly TrafficTally _tally = new();

    public async Task<int> RunAsync(CancellationToken stop)
    {
        var checks = new CheckList(output);
        foreach (var port in new[] { options.BasePort, options.BasePort + 1, options.BasePort + 2 })
        {
            if (!PortIsFree(port))
            {
                output.WriteLine($"port {port} is in use: pass another --base-port");
                return 2;
            }
        }

        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
            // A client that leaves closes its connection at once instead of reading the rest to reuse it.
            ResponseDrainTimeout = TimeSpan.Zero,
            MaxResponseDrainSize = 0,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };

        output.WriteLine($"soak: {options.Concurrency} concurrent requests, warm-up {options.Warmup.TotalSeconds:F0} s, then {options.Duration.TotalSeconds:F0} s; seed {options.Seed}; logs in {options.Logs}");
        await using var worker = ServiceProcess.Start(
            Path.Combine(options.Root, "src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll"),
            ["--urls", _workerUrl.ToString().TrimEnd('/')],
            options.Root, Path.Combine(options.Logs, "worker.log"));
        await worker.WaitReadyAsync(client, new Uri(_workerUrl, "health"), stop).ConfigureAwait(false);

        await using var sidecar = ServiceProcess.Start(
            options.Sidecar,
            [
                "--urls", _proxyUrl.ToString().TrimEnd('/'),
                $"--Sidecar:AdminPort={options.BasePort + 2}",
                "--Sidecar:AdminAddress=127.0.0.1",
                $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={_workerUrl}",
                $"--ReverseProxy:Clusters:worker:HttpRequest:ActivityTimeout={options.ActivityTimeout.ToString("c", CultureInfo.InvariantCulture)}",
            ],
            Path.GetDirectoryName(options.Sidecar)!, Path.Combine(options.Logs, "sidecar.log"), options.SidecarEnvironment);
        await sidecar.WaitReadyAsync(client, new Uri(_adminUrl, "healthz"), stop).ConfigureAwait(false);
        await sidecar.WaitReadyAsync(client, new Uri(_proxyUrl, "health"), stop).ConfigureAwait(false);

        var lanes = Enumerable.Range(0, options.Concurrency).Select(lane => new RequestMix(options.Seed, lane)).ToArray();
        var soakClient = new SoakClient(client, _proxyUrl);
        var comparison = new StreamComparison(client, _workerUrl);
        var metricsUrl = new Uri(_adminUrl, "metrics");

        output.WriteLine("warm-up ...");
        await DriveAsync(lanes, soakClient, comparison, options.Warmup, stop).ConfigureAwait(false);
        await WaitIdleAsync(client, metricsUrl, stop).ConfigureAwait(false);
        var baseline = await SidecarMemory.CollectAndReadAsync(sidecar.Pid, client, metricsUrl, stop).ConfigureAwait(false);
        output.WriteLine($"baseline after warm-up ({_tally.Requests} requests): managed {Mib(baseline.ManagedBytes)}, RSS {Mib(baseline.RssBytes)}");

        var cpuBefore = ProcessStats.CpuSeconds(sidecar.Pid);
        var started = Stopwatch.StartNew();
        output.WriteLine("traffic ...");
        using (var progressStop = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            var progress = ReportProgressAsync(client, metricsUrl, sidecar.Pid, started, progressStop.Token);
            await DriveAsync(lanes, soakClient, comparison, options.Duration, stop).ConfigureAwait(false);
            await progressStop.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
        }

        var trafficSeconds = started.Elapsed.TotalSeconds;
        var sidecarCpu = ProcessStats.CpuSeconds(sidecar.Pid) - cpuBefore;
        await WaitIdleAsync(client, metricsUrl, stop).ConfigureAwait(false);

        var sidecarMetrics = await MetricsScrape.ReadAsync(client, metricsUrl, stop).ConfigureAwait(false);
        var workerMetrics = await MetricsScrape.ReadAsync(client, new Uri(_workerUrl, "metrics"), stop).ConfigureAwait(false);
        var end = await SidecarMemory.CollectAndReadAsync(sidecar.Pid, client, metricsUrl, stop).ConfigureAwait(false);

        PrintFigures(trafficSeconds, sidecarCpu, sidecarMetrics, workerMetrics, baseline, end);
        output.WriteLine("checks:");
        await CheckAliveAsync(checks, client, sidecar, stop).ConfigureAwait(false);
        CheckBooks(checks, sidecarMetrics, workerMetrics);
        CheckMemory(checks, baseline, end);
        checks.Summary();
        return checks.Failed == 0 ? 0 : 1;
    }

    /// <summary>Every lane sends request after request until the time is up; requests in flight then run to their end.</summary>
    private async Task DriveAsync(RequestMix[] lanes, SoakClient soakClient, StreamComparison comparison, TimeSpan duration, CancellationToken stop)
    {
        var deadline = Stopwatch.StartNew();
        await Task.WhenAll(lanes.Select(mix => Task.Run(async () =>
        {
            while (deadline.Elapsed < duration && !stop.IsCancellationRequested)
            {
                var plan = mix.Next();
                var result = await soakClient.SendAsync(plan, stop).ConfigureAwait(false);
                string? mismatch = null;
                if (result.Body is { } body)
                {
                    mismatch = await comparison.CompareAsync(plan, body, stop).ConfigureAwait(false);
                }

                _tally.Add(result, mismatch);
            }
        }, stop))).ConfigureAwait(false);
    }

    /// <summary>A line every 30 s while the traffic runs, so a long soak shows the trend of the sidecar's memory, not only its end.</summary>
    private async Task ReportProgressAsync(HttpClient client, Uri metricsUrl, int pid, Stopwatch started, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                var scrape = await MetricsScrape.ReadAsync(client, metricsUrl, cancellationToken).ConfigureAwait(false);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {started.Elapsed.TotalSeconds,5:F0} s: {_tally.Requests} requests ended, {scrape.Sum(Prefix + "inflight_requests")} in flight; sidecar RSS {Mib(ProcessStats.StatusBytes(pid, "VmRSS"))}, managed {Mib((long)scrape.Sum("dotnet_total_memory_bytes"))} (before GC), threads {scrape.Sum("process_num_threads")}"));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The traffic is over.
        }
    }

    /// <summary>The clients are done; give the sidecar a moment to close its books (the gauges are checked after).</summary>
    private static async Task WaitIdleAsync(HttpClient client, Uri metricsUrl, CancellationToken stop)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            var scrape = await MetricsScrape.ReadAsync(client, metricsUrl, stop).ConfigureAwait(false);
            if (Gauges.All(g => scrape.Series(Prefix + g).All(s => s.Value == 0)))
            {
                return;
            }

            await Task.Delay(100, stop).ConfigureAwait(false);
        }
    }

    private async Task CheckAliveAsync(CheckList checks, HttpClient client, ServiceProcess sidecar, CancellationToken stop)
    {
        var healthy = false;
        if (!sidecar.HasExited)
        {
            using var response = await client.GetAsync(new Uri(_adminUrl, "healthz"), stop).ConfigureAwait(false);
            healthy = response.StatusCode == HttpStatusCode.OK;
        }

        checks.Check(healthy, "sidecar alive, /healthz 200");
    }

    private void CheckBooks(CheckList checks, MetricsScrape sidecar, MetricsScrape worker)
    {
        checks.Check(_tally.Problems == 0, "every client saw what was injected (status, end of stream, tokens, usage chunk, bytes)",
            $"{_tally.Problems} of {_tally.Requests} requests differ" + string.Concat(_tally.FirstProblems.Select(p => "\n      " + p)));
        foreach (var gauge in Gauges)
        {
            var series = sidecar.Series(Prefix + gauge).ToList();
            checks.Check(series.All(s => s.Value == 0), $"{gauge} is 0 for every model",
                string.Join(", ", series.Select(s => $"{s.Labels.GetValueOrDefault("model")}={s.Value}")));
        }

        var started = sidecar.Sum(Prefix + "requests_started_total");
        var ended = sidecar.Sum(Prefix + "requests_total");
        checks.Equal(started, ended, "requests_started_total equals requests_total");
        checks.Equal(_tally.Requests, ended, "requests_total equals the metered requests sent");
        foreach (var (errorType, count) in _tally.ByExpectedErrorType.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            checks.Equal(count, sidecar.Sum(Prefix + "requests_total", ("error_type", errorType)),
                $"requests_total{{error_type=\"{errorType}\"}} equals the requests injected with it");
        }

        checks.Equal(_tally.ClientDisconnects, sidecar.Sum(Prefix + "model_cancellation_total"), "model_cancellation_total equals the client disconnects");
        checks.Equal(_tally.ClientDisconnects, sidecar.Sum(Prefix + "disconnected_clients"), "disconnected_clients equals the client disconnects");

        var sidecarTokens = Groups.ToDictionary(g => g, g => sidecar.Sum(Prefix + "output_tokens_total", ("model", g)));
        var workerTokens = Groups.ToDictionary(g => g, g => worker.Sum("sim:output_tokens_by_request_model_total", ("model", g)));
        var clientTokens = Groups.ToDictionary(g => g, g => (double)_tally.ClientTokens.GetValueOrDefault(g));
        var clean = SoakRequest.CleanModel;
        checks.Equal(workerTokens[clean], sidecarTokens[clean], "clean requests: output_tokens_total equals the tokens the worker sent");
        checks.Equal(clientTokens[clean], sidecarTokens[clean], "clean requests: output_tokens_total equals the tokens the clients counted");
        var faulted = SoakRequest.WorkerFaultModel;
        checks.Equal(workerTokens[faulted], sidecarTokens[faulted], "worker cuts and stalls: output_tokens_total equals the tokens the worker sent");
        checks.Check(clientTokens[faulted] <= sidecarTokens[faulted], "worker cuts and stalls: clients counted no more than output_tokens_total",
            $"clients {clientTokens[faulted]}, sidecar {sidecarTokens[faulted]}");
        var left = SoakRequest.DisconnectModel;
        checks.Check(clientTokens[left] <= sidecarTokens[left] && sidecarTokens[left] <= workerTokens[left],
            "client disconnects: clients <= output_tokens_total <= worker sent (tokens in flight when the client left)",
            $"clients {clientTokens[left]}, sidecar {sidecarTokens[left]}, worker {workerTokens[left]}");
        checks.Check(_tally.StreamsCompared > 0, "streams compared byte for byte with the worker's (usage chunk removed)",
            $"{_tally.StreamsCompared} streams, {_tally.BytesCompared} bytes");
    }

    private void CheckMemory(CheckList checks, MemoryReading baseline, MemoryReading end)
    {
        Within("managed memory after a full GC", baseline.ManagedBytes, end.ManagedBytes);
        Within("RSS after a full GC", baseline.RssBytes, end.RssBytes);

        void Within(string what, long before, long after)
        {
            var limit = (long)(before * (1 + options.MemoryTolerance)) + options.MemoryFloorBytes;
            checks.Check(after <= limit, $"{what} within {options.MemoryTolerance:P0} (+{Mib(options.MemoryFloorBytes)}) of the warm-up's",
                $"{Mib(before)} -> {Mib(after)} ({(after - before) * 100.0 / before:+0.0;-0.0}%), limit {Mib(limit)}");
        }
    }

    private void PrintFigures(double seconds, double sidecarCpu, MetricsScrape sidecar, MetricsScrape worker, MemoryReading baseline, MemoryReading end)
    {
        var t = _tally;
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"figures (warm-up and traffic; traffic {seconds:F0} s, sidecar CPU {sidecarCpu:F1} s = {sidecarCpu / seconds:F2} cores):"));
        output.WriteLine(string.Create(c, $"  requests {t.Requests}: {string.Join(", ", t.ByKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}"));
        output.WriteLine($"  faults: {string.Join(", ", t.ByFault.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"))}");
        output.WriteLine($"  sidecar requests_total by error_type: {string.Join(", ", sidecar.Series(Prefix + "requests_total").GroupBy(s => s.Labels.GetValueOrDefault("error_type") ?? "").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{(g.Key.Length == 0 ? "success" : g.Key)} {g.Sum(s => s.Value)}"))}");
        foreach (var group in Groups)
        {
            output.WriteLine(string.Create(c, $"  tokens {group}: clients {t.ClientTokens.GetValueOrDefault(group)}, sidecar {sidecar.Sum(Prefix + "output_tokens_total", ("model", group))}, worker {worker.Sum("sim:output_tokens_by_request_model_total", ("model", group))}"));
        }

        output.WriteLine(string.Create(c, $"  bytes received by clients {t.BytesReceived}; compared byte for byte {t.BytesCompared} in {t.StreamsCompared} streams"));
        output.WriteLine(string.Create(c, $"  sidecar memory after full GC: managed {Mib(baseline.ManagedBytes)} -> {Mib(end.ManagedBytes)}, RSS {Mib(baseline.RssBytes)} -> {Mib(end.RssBytes)} (gen-2 GCs {end.Gen2Collections}, threads {baseline.Threads} -> {end.Threads})"));
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

    private static bool PortIsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, port);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}

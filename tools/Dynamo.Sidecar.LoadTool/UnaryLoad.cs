using System.Buffers;
using System.Diagnostics;
using System.Net;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// <c>--unary N</c>: N small non-streaming chat completions, <c>--streams</c> at a time on kept-alive connections,
/// each timed from send to the last byte of its body: the latency a proxy adds to one small request.
/// </summary>
internal static class UnaryLoad
{
    private const int WarmupBatch = 500;

    public static async Task<LoadResult> MeasureAsync(HttpClient client, Uri endpoint, LoadOptions options, int requests, LoadResult? baseline, CancellationToken cancellationToken)
    {
        var body = ChatStream.RequestBody(options.Model, options.Tokens, stream: false);
        // Requests like the measured ones for the warm-up time, so every process on the path has compiled them to
        // the final tier; then a second for the last promotions.
        var warmupEnd = Stopwatch.GetTimestamp() + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
        var warmup = new double[WarmupBatch];
        while (Stopwatch.GetTimestamp() < warmupEnd)
        {
            var (warmupErrors, warmupError, _) = await RunAsync(client, endpoint, body, options, warmup, cancellationToken).ConfigureAwait(false);
            if (warmupErrors > 0)
            {
                throw new HttpRequestException($"warm-up against {endpoint} failed: {warmupError}");
            }
        }

        if (options.Warmup > TimeSpan.Zero)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        var pids = options.Pids;
        var hasProxy = pids.Count > 0;
        var rssIdle = hasProxy ? ProcessStats.StatusBytes(pids, "VmRSS") : 0;
        var cpuBefore = hasProxy ? ProcessStats.CpuSeconds(pids) : 0;
        var selfBefore = ProcessStats.CpuSeconds(Environment.ProcessId);
        var loadBefore = ProcessStats.LoadAverage();
        var started = Stopwatch.GetTimestamp();
        var latencies = new double[requests];
        var (errors, firstError, bytes) = await RunAsync(client, endpoint, body, options, latencies, cancellationToken).ConfigureAwait(false);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var proxyCpu = hasProxy ? ProcessStats.CpuSeconds(pids) - cpuBefore : 0;
        var selfCpu = ProcessStats.CpuSeconds(Environment.ProcessId) - selfBefore;

        var latency = Percentiles.Of([.. latencies.Where(l => l > 0)]);
        return new LoadResult
        {
            Label = options.Label,
            Url = options.Url.ToString(),
            Streams = options.Streams,
            Tokens = options.Tokens,
            Rate = options.Rate,
            Requests = requests,
            Completed = requests - errors,
            Cut = 0,
            Errors = errors,
            FirstError = firstError,
            Events = requests,
            WallSeconds = wall,
            EventsPerSecond = wall > 0 ? requests / wall : 0,
            MaxOpenStreams = options.Streams,
            UnaryLatencyMs = latency,
            UnaryResponseBytes = requests > 0 ? bytes / requests : 0,
            BaselineLabel = baseline?.Label,
            AddedUnaryLatencyMs = LoadResult.Added(latency, baseline?.UnaryLatencyMs),
            Proxy = hasProxy
                ? new ProcessUsage([.. pids], proxyCpu, proxyCpu / requests * 1e6, rssIdle, ProcessStats.StatusBytes(pids, "VmRSS"), null, null, ProcessStats.StatusBytes(pids, "VmHWM"))
                : null,
            LoadAverage = [loadBefore, ProcessStats.LoadAverage()],
            LoadToolCpuSeconds = selfCpu,
            LoadToolCores = wall > 0 ? selfCpu / wall : 0,
        };
    }

    /// <summary>Sends latencies.Length requests, --streams at a time; fills latencies (ms, 0 for a failed one).</summary>
    private static async Task<(int Errors, string? FirstError, long Bytes)> RunAsync(HttpClient client, Uri endpoint, byte[] body, LoadOptions options,
        double[] latencies, CancellationToken cancellationToken)
    {
        var next = -1;
        var errors = 0;
        var bytes = 0L;
        string? firstError = null;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(options.Streams, latencies.Length)).Select(_ => Task.Run(async () =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < latencies.Length)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        using var request = ChatStream.NewRequest(endpoint, body, options.Rate, options.Headers);
                        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                        var length = 0L;
                        int read;
                        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                        {
                            length += read;
                        }

                        if (response.StatusCode != HttpStatusCode.OK || length == 0)
                        {
                            throw new HttpRequestException($"HTTP {(int)response.StatusCode}, {length} bytes");
                        }

                        latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        Interlocked.Add(ref bytes, length);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, ex.GetType().Name + ": " + ex.Message, null);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, CancellationToken.None))).ConfigureAwait(false);
        return (errors, firstError, bytes);
    }
}

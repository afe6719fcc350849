using System.Diagnostics;
using System.Diagnostics.Tracing;
using Dynamo.Sidecar.LoadTool;
using Microsoft.Diagnostics.NETCore.Client;

namespace Dynamo.Sidecar.SoakTool.Checks;

/// <summary>The sidecar's memory after a full, blocking GC: managed heap and resident set.</summary>
internal sealed record MemoryReading(long ManagedBytes, long RssBytes, double Gen2Collections, double Threads);

/// <summary>
/// Makes the sidecar process collect its garbage from the outside, the way <c>dotnet-gcdump</c> does: an EventPipe
/// session with the runtime's GCHeapCollect keyword induces a blocking gen-2 GC. No hook in the product. The GC is
/// confirmed on the sidecar's own <c>dotnet_collection_count_total{generation="2"}</c>, then managed memory is read
/// from <c>dotnet_total_memory_bytes</c> and RSS from <c>/proc/&lt;pid&gt;/status</c>.
/// </summary>
internal static class SidecarMemory
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";
    private const long GcHeapCollectKeyword = 0x800000;

    public static async Task<MemoryReading> CollectAndReadAsync(int pid, HttpClient client, Uri metricsUrl, CancellationToken cancellationToken)
    {
        var before = Gen2(await MetricsScrape.ReadAsync(client, metricsUrl, cancellationToken).ConfigureAwait(false));
        var diagnostics = new DiagnosticsClient(pid);
        using (var session = await diagnostics.StartEventPipeSessionAsync(
            [new EventPipeProvider(RuntimeProvider, EventLevel.Informational, GcHeapCollectKeyword)],
            requestRundown: false, circularBufferMB: 16, cancellationToken).ConfigureAwait(false))
        {
            // The events themselves are not needed, but the stream must be drained for the session to flow.
            var drain = session.EventStream.CopyToAsync(Stream.Null, cancellationToken);
            var deadline = Stopwatch.StartNew();
            while (Gen2(await MetricsScrape.ReadAsync(client, metricsUrl, cancellationToken).ConfigureAwait(false)) <= before)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(20))
                {
                    throw new TimeoutException("the sidecar ran no gen-2 GC within 20 s of the GCHeapCollect request");
                }

                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }

            await session.StopAsync(cancellationToken).ConfigureAwait(false);
            await drain.ConfigureAwait(false);
        }

        // After the collection: what is left is what the sidecar holds on to.
        var after = await MetricsScrape.ReadAsync(client, metricsUrl, cancellationToken).ConfigureAwait(false);
        return new MemoryReading(
            (long)after.Sum("dotnet_total_memory_bytes"),
            ProcessStats.StatusBytes(pid, "VmRSS"),
            Gen2(after),
            after.Sum("process_num_threads"));
    }

    private static double Gen2(MetricsScrape scrape) => scrape.Sum("dotnet_collection_count_total", ("generation", "2"));
}

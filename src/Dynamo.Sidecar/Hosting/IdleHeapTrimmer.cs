using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>
/// Gives the memory a burst of traffic grew back to the node once the sidecar falls quiet. The .NET GC has no
/// background scavenger: what it committed for a burst stays resident until its next collection, and a quiet proxy
/// allocates nothing, so none comes. One aggressive, compacting collection after
/// <see cref="SidecarOptions.IdleTrimAfter"/> of quiet decommits it (docs/benchmarks.md, "Idle memory").
/// Quiet is read from the allocation counter, so nothing on the request path takes part.
/// </summary>
internal sealed partial class IdleHeapTrimmer(
    IOptions<SidecarOptions> options,
    TimeProvider timeProvider,
    ILogger<IdleHeapTrimmer> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    // Less allocated than this in one tick is quiet: a /metrics scrape, the readiness probe and the timers allocate
    // tens of KiB; one streamed token through the proxy allocates nothing, but its connection's reads and the
    // metering of hundreds of streams allocate far more than this per tick.
    private const long QuietBytesPerTick = 256 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var after = options.Value.IdleTrimAfter;
        if (after == TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(Tick, timeProvider);
        var allocated = GC.GetTotalAllocatedBytes();
        var quietSince = timeProvider.GetTimestamp();
        var busySinceTrim = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = GC.GetTotalAllocatedBytes();
                if (now - allocated > QuietBytesPerTick)
                {
                    busySinceTrim = true;
                    quietSince = timeProvider.GetTimestamp();
                }
                else if (busySinceTrim && timeProvider.GetElapsedTime(quietSince) >= after)
                {
                    var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    Log.IdleHeapTrimmed(logger, committed / 1048576.0, GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0);
                    busySinceTrim = false;
                    now = GC.GetTotalAllocatedBytes();
                }

                allocated = now;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

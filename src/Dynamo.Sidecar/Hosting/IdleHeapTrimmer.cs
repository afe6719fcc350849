using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>
/// Gives the memory a burst of traffic grew back to the node once the sidecar falls quiet. The .NET GC has no
/// background scavenger: what it committed for a burst stays resident until its next collection, and a quiet proxy
/// allocates nothing, so none comes. One aggressive, compacting collection after
/// <see cref="SidecarOptions.IdleTrimAfter"/> of quiet decommits it (docs/benchmarks.md, "Idle memory").
/// Quiet is read from the allocation counter, so nothing on the request path takes part. Counting starts once the host
/// has started: start-up allocates more than a busy tick, and is not traffic.
/// </summary>
internal sealed partial class IdleHeapTrimmer(
    IOptions<SidecarOptions> options,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<IdleHeapTrimmer> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    // Less allocated than this in one tick is quiet: a /metrics scrape, the readiness probe and the timers allocate
    // tens of KiB; one streamed token through the proxy allocates nothing, but its connection's reads and the
    // metering of hundreds of streams allocate far more than this per tick.
    private const long QuietBytesPerTick = 256 * 1024;

    private const double MiB = 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var after = options.Value.IdleTrimAfter;
        if (after == TimeSpan.Zero)
        {
            return;
        }

        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }

            using var timer = new PeriodicTimer(Tick, timeProvider);
            var allocated = GC.GetTotalAllocatedBytes();
            var quietSince = timeProvider.GetTimestamp();
            var busySinceTrim = false;
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
                    // The resident set, what the node sees: the GC's committed figure dates from its last collection,
                    // which a burst that stayed within the gen0 budget never had.
                    var resident = Environment.WorkingSet;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    Log.IdleHeapTrimmed(logger, resident / MiB, Environment.WorkingSet / MiB, GC.GetGCMemoryInfo().TotalCommittedBytes / MiB);
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

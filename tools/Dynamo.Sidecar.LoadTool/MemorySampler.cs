namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// Samples the resident memory of the measured processes while the load runs: idle (before the first stream),
/// the peak, and the peak while every stream was open at once (what open streams cost).
/// </summary>
internal sealed class MemorySampler(IReadOnlyList<int> pids, int streams, Func<int> openStreams)
{
    private static readonly TimeSpan SettleStep = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SettledFor = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(10);
    private const long SettledWithinBytes = 512 * 1024;

    public long RssIdleBytes { get; } = ProcessStats.StatusBytes(pids, "VmRSS");

    /// <summary>
    /// Waits until the resident memory of <paramref name="pids"/> has stayed within 0.5 MiB for 2 s (at most 10 s):
    /// a process that gives memory back when traffic stops (the sidecar does after 2 s of quiet, Go and Node runtimes
    /// scavenge in the background) is measured idle once it has, whichever target it is.
    /// </summary>
    public static async Task SettleAsync(IReadOnlyList<int> pids, CancellationToken cancellationToken)
    {
        if (pids.Count == 0)
        {
            return;
        }

        var limit = System.Diagnostics.Stopwatch.StartNew();
        var stable = System.Diagnostics.Stopwatch.StartNew();
        var reference = ProcessStats.StatusBytes(pids, "VmRSS");
        while (stable.Elapsed < SettledFor && limit.Elapsed < SettleLimit)
        {
            await Task.Delay(SettleStep, cancellationToken).ConfigureAwait(false);
            var rss = ProcessStats.StatusBytes(pids, "VmRSS");
            if (Math.Abs(rss - reference) > SettledWithinBytes)
            {
                reference = rss;
                stable.Restart();
            }
        }
    }

    public long RssPeakBytes { get; private set; }

    /// <summary>The largest sample taken while all streams were open, or null if they never were all at once.</summary>
    public long? RssAllOpenBytes { get; private set; }

    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                Sample();
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
            // The process exited under us; the run reports what was sampled.
        }
    }

    private void Sample()
    {
        var allOpen = openStreams() >= streams;
        var rss = ProcessStats.StatusBytes(pids, "VmRSS");
        RssPeakBytes = Math.Max(RssPeakBytes, rss);
        if (allOpen && openStreams() >= streams)
        {
            RssAllOpenBytes = Math.Max(RssAllOpenBytes ?? 0, rss);
        }
    }
}

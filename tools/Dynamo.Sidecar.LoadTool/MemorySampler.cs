namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// Samples the resident memory of the measured processes while the load runs: idle (before the first stream),
/// the peak, and the peak while every stream was open at once (what open streams cost).
/// </summary>
internal sealed class MemorySampler(IReadOnlyList<int> pids, int streams, Func<int> openStreams)
{
    public long RssIdleBytes { get; } = ProcessStats.StatusBytes(pids, "VmRSS");

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

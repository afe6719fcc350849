namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>
/// Waits until each decode step is due. Deadlines are measured from one start timestamp rather than chained
/// delays, so timer slack on one token does not slow every later token.
/// </summary>
internal readonly struct TokenPacer(Pacing pacing, TimeProvider time)
{
    private readonly long _start = time.GetTimestamp();

    public Task WaitForStepAsync(int step, CancellationToken cancellationToken)
    {
        var remaining = pacing.DueTime(step) - time.GetElapsedTime(_start);
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, time, cancellationToken) : Task.CompletedTask;
    }
}

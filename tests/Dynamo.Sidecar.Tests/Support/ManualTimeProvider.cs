namespace Dynamo.Sidecar.Tests.Support;

/// <summary>A clock that only moves when a test says so; one timestamp tick is one <see cref="TimeSpan"/> tick.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _timestamp = TimeSpan.FromHours(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _timestamp, by.Ticks);
    }

    public void AdvanceSeconds(double seconds) => Advance(TimeSpan.FromSeconds(seconds));
}

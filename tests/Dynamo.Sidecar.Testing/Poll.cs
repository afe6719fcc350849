namespace Dynamo.Sidecar.Testing;

/// <summary>Waits for something a background task makes true (a probe ran, a log line was written), without timing it.</summary>
public static class Poll
{
    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> after <paramref name="timeout"/> (default 30 s).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Xunit.Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(20);
        }
    }
}

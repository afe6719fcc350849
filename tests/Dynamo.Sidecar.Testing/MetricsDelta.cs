using Xunit;


namespace Dynamo.Sidecar.Testing;

/// <summary>
/// What <c>/metrics</c> gained between two scrapes. Names are given without the
/// <c>dynamo_frontend_</c> prefix; gauges are read from the later scrape with <see cref="After"/>.
/// </summary>
public sealed class MetricsDelta(MetricsText before, MetricsText after)
{
    public const string Prefix = "dynamo_frontend_";

    public MetricsText Before { get; } = before;

    public MetricsText After { get; } = after;

    public double Value(string name, params (string Name, string Value)[] labels) =>
        After.Value(Prefix + name, labels) - Before.Value(Prefix + name, labels);

    public double Sum(string name, params (string Name, string Value)[] labels) =>
        After.Sum(Prefix + name, labels) - Before.Sum(Prefix + name, labels);

    /// <summary>Scrapes until <paramref name="requests"/> more requests have ended and nothing is in flight.</summary>
    public static async Task<MetricsDelta> AfterAsync(Func<Task<MetricsText>> scrape, MetricsText before, int requests = 1)
    {
        var target = before.Sum(Prefix + "requests_total") + requests;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var after = await scrape();
            var done = after.Sum(Prefix + "requests_total") >= target && after.Sum(Prefix + "inflight_requests") == 0;
            if (done || DateTime.UtcNow > deadline)
            {
                return new MetricsDelta(before, after);
            }

            await Task.Delay(20);
        }
    }

    public static Task<MetricsDelta> AfterAsync(RunningSidecar sidecar, MetricsText before, int requests = 1) =>
        AfterAsync(sidecar.ScrapeAsync, before, requests);

    /// <summary>
    /// Exactly one request of this shape started and ended, with this outcome, and every gauge is back at 0.
    /// </summary>
    public void AssertOneRequest(string model, string endpoint, string requestType, string status = "success", string errorType = "")
    {
        Assert.Equal(1, Sum("requests_started_total"));
        Assert.Equal(1, Value("requests_started_total", ("model", model), ("endpoint", endpoint), ("request_type", requestType)));
        Assert.Equal(1, Sum("requests_total"));
        Assert.Equal(1, Value("requests_total", ("model", model), ("endpoint", endpoint), ("request_type", requestType), ("status", status), ("error_type", errorType)));
        Assert.Equal(1, Value("request_duration_seconds_count", ("model", model)));
        Assert.Equal(0, Sum("model_cancellation_total"));
        Assert.Equal(0, Value("disconnected_clients"));
        AssertIdle();
    }

    /// <summary>Nothing in flight, active or queued, for any model.</summary>
    public void AssertIdle()
    {
        Assert.Equal(0, After.Sum(Prefix + "inflight_requests"));
        Assert.Equal(0, After.Sum(Prefix + "active_requests"));
        Assert.Equal(0, After.Sum(Prefix + "queued_requests"));
    }

    /// <summary>Count and sum a histogram gained.</summary>
    public (double Count, double Sum) Histogram(string name, string model) =>
        (Value(name + "_count", ("model", model)), Value(name + "_sum", ("model", model)));

    /// <summary>The sidecar's own series in the later scrape, without buckets: for failure messages.</summary>
    public string Describe() => string.Join('\n', After.Raw.Split('\n').Where(l => l.StartsWith(Prefix, StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal)));
}

namespace Dynamo.Sidecar.IntegrationTests.Hostile;

/// <summary>What must hold after any hostile input: the admin port answers and the accounting is closed.</summary>
internal static class Survival
{
    /// <summary>
    /// <c>/healthz</c> and <c>/metrics</c> answer, every metered request that started has ended, and no gauge is
    /// left up; returns the scrape.
    /// </summary>
    public static async Task<MetricsText> AssertAdminAnswersAndIdleAsync(SidecarHost sidecar)
    {
        Assert.Equal("ok\n", await sidecar.AdminClient.GetStringAsync("/healthz"));
        var metrics = await sidecar.ScrapeUntilAsync(m =>
            m.Sum(MetricsDelta.Prefix + "requests_total") == m.Sum(MetricsDelta.Prefix + "requests_started_total")
            && m.Sum(MetricsDelta.Prefix + "inflight_requests") == 0);
        Assert.Equal(metrics.Sum(MetricsDelta.Prefix + "requests_started_total"), metrics.Sum(MetricsDelta.Prefix + "requests_total"));
        Assert.Equal(0, metrics.Sum(MetricsDelta.Prefix + "inflight_requests"));
        Assert.Equal(0, metrics.Sum(MetricsDelta.Prefix + "active_requests"));
        Assert.Equal(0, metrics.Sum(MetricsDelta.Prefix + "queued_requests"));
        return metrics;
    }
}

namespace Dynamo.Sidecar.Testing;

/// <summary>A started sidecar a test talks to: in this process (<see cref="SidecarHost"/>) or its own (<see cref="SidecarProcess"/>).</summary>
public interface IRunningSidecar
{
    /// <summary>The proxy listener, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    Uri ProxyAddress { get; }

    /// <summary>The admin listener: <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>.</summary>
    Uri AdminAddress { get; }

    /// <summary>Talks to the proxy listener.</summary>
    HttpClient Client { get; }

    /// <summary>Talks to the admin listener.</summary>
    HttpClient AdminClient { get; }
}

/// <summary>Reading a running sidecar's <c>/metrics</c>.</summary>
public static class SidecarScrapes
{
    public static Task<string> ScrapeTextAsync(this IRunningSidecar sidecar) => sidecar.AdminClient.GetStringAsync("/metrics");

    public static async Task<MetricsText> ScrapeAsync(this IRunningSidecar sidecar) => MetricsText.Parse(await sidecar.ScrapeTextAsync());

    /// <summary>Scrapes until <paramref name="condition"/> holds: a request's accounting closes just after its last byte.</summary>
    public static async Task<MetricsText> ScrapeUntilAsync(this IRunningSidecar sidecar, Func<MetricsText, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var metrics = await sidecar.ScrapeAsync();
            if (condition(metrics) || DateTime.UtcNow > deadline)
            {
                return metrics;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Scrapes until <paramref name="requests"/> more requests have ended than in <paramref name="before"/> and none is in flight.</summary>
    public static Task<MetricsText> ScrapeAfterAsync(this IRunningSidecar sidecar, MetricsText before, int requests)
    {
        var target = before.Sum("dynamo_frontend_requests_total") + requests;
        return sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") >= target && m.Sum("dynamo_frontend_inflight_requests") == 0);
    }
}

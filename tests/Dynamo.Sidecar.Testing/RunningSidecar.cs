namespace Dynamo.Sidecar.Testing;

/// <summary>
/// A started sidecar a test talks to: in this process (<see cref="SidecarHost"/>) or its own (<see cref="SidecarProcess"/>).
/// Both start from the same command line (<see cref="Arguments"/>) and are talked to the same way.
/// </summary>
public abstract class RunningSidecar : IAsyncDisposable
{
    protected RunningSidecar(Uri proxy, Uri admin)
    {
        ProxyAddress = proxy;
        AdminAddress = admin;
        Client = new HttpClient { BaseAddress = proxy, Timeout = TimeSpan.FromSeconds(60) };
        AdminClient = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The proxy listener, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri ProxyAddress { get; }

    /// <summary>The admin listener: <c>/metrics</c>, <c>/healthz</c>, <c>/readyz</c>.</summary>
    public Uri AdminAddress { get; }

    /// <summary>Talks to the proxy listener.</summary>
    public HttpClient Client { get; }

    /// <summary>Talks to the admin listener.</summary>
    public HttpClient AdminClient { get; }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        AdminClient.Dispose();
        await DisposeSidecarAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The command line of every test sidecar: loopback, the given listeners, one worker. The background readiness probe
    /// and the idle heap trim are off unless a test sets <c>Sidecar:ReadinessInterval</c> or <c>Sidecar:IdleTrimAfter</c>
    /// (a test's <paramref name="settings"/> come last and win): the worker sees only the tests' requests, and the heap
    /// is collected only when a test asks for it.
    /// </summary>
    /// <param name="settings">Configuration as <c>Key=value</c>, e.g. <c>Sidecar:DrainTimeout=00:00:02</c>.</param>
    protected static string[] Arguments(string urls, int adminPort, string workerAddress, IEnumerable<string> settings) =>
    [
        "--urls", urls,
        $"--Sidecar:AdminPort={adminPort}",
        "--Sidecar:AdminAddress=127.0.0.1",
        "--Sidecar:ReadinessInterval=00:00:00",
        "--Sidecar:IdleTrimAfter=00:00:00",
        $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={workerAddress}",
        .. settings.Select(s => "--" + s),
    ];

    /// <summary>Stops the sidecar (the host, or the process) once the clients are gone.</summary>
    protected abstract ValueTask DisposeSidecarAsync();
}

/// <summary>Reading a running sidecar's <c>/metrics</c>.</summary>
public static class SidecarScrapes
{
    public static Task<string> ScrapeTextAsync(this RunningSidecar sidecar) => sidecar.AdminClient.GetStringAsync("/metrics");

    public static async Task<MetricsText> ScrapeAsync(this RunningSidecar sidecar) => MetricsText.Parse(await sidecar.ScrapeTextAsync());

    /// <summary>Scrapes until <paramref name="condition"/> holds: a request's accounting closes just after its last byte.</summary>
    public static async Task<MetricsText> ScrapeUntilAsync(this RunningSidecar sidecar, Func<MetricsText, bool> condition)
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
    public static Task<MetricsText> ScrapeAfterAsync(this RunningSidecar sidecar, MetricsText before, int requests)
    {
        var target = before.Sum("dynamo_frontend_requests_total") + requests;
        return sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") >= target && m.Sum("dynamo_frontend_inflight_requests") == 0);
    }
}

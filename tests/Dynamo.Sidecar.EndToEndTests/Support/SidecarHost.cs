using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>
/// The whole sidecar, as Program.cs builds it, on real Kestrel sockets bound to loopback with free
/// ports, with the shipped appsettings.json and the worker address given the way an operator would.
/// Each host has its own metrics registry, so a fresh one starts from zero.
/// </summary>
internal sealed class SidecarHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SidecarHost(WebApplication app, Uri proxy, Uri admin)
    {
        _app = app;
        ProxyAddress = proxy;
        AdminAddress = admin;
        AdminClient = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri ProxyAddress { get; }

    public Uri AdminAddress { get; }

    public HttpClient AdminClient { get; }

    public static async Task<SidecarHost> StartAsync(Uri workerAddress)
    {
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            "--Sidecar:AdminPort=0",
            "--Sidecar:AdminAddress=127.0.0.1",
            $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={workerAddress}",
        ];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.AddSidecar();
        var app = builder.Build();
        app.MapSidecar();
        await app.StartAsync();
        return new SidecarHost(app, new Uri(app.Urls.First()), FindAdminAddress(app));
    }

    public async Task<MetricsText> ScrapeAsync() => MetricsText.Parse(await ScrapeTextAsync());

    public Task<string> ScrapeTextAsync() => AdminClient.GetStringAsync("/metrics");

    /// <summary>
    /// Scrapes until <paramref name="requests"/> more requests have ended than in <paramref name="before"/>
    /// and none is in flight: a request's accounting closes just after its last byte.
    /// </summary>
    public async Task<MetricsText> ScrapeAfterAsync(MetricsText before, int requests)
    {
        var target = before.Sum("dynamo_frontend_requests_total") + requests;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var metrics = await ScrapeAsync();
            if ((metrics.Sum("dynamo_frontend_requests_total") >= target && metrics.Sum("dynamo_frontend_inflight_requests") == 0)
                || DateTime.UtcNow > deadline)
            {
                return metrics;
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        AdminClient.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>
    /// The admin listener is a hosted service of its own that publishes where it bound (port 0 here);
    /// its type is internal to the sidecar, so it is found by that public <c>Address</c> property.
    /// </summary>
    private static Uri FindAdminAddress(WebApplication app)
    {
        foreach (var service in app.Services.GetServices<IHostedService>())
        {
            if (service.GetType().GetProperty("Address")?.GetValue(service) is Uri address)
            {
                return address;
            }
        }

        throw new InvalidOperationException("the sidecar's admin listener did not report its address");
    }
}

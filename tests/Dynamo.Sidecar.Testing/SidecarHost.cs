using Dynamo.Sidecar.Admin;
using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// The whole sidecar, as Program.cs builds it, on real Kestrel sockets bound to loopback with free
/// ports, with the shipped appsettings.json and the worker address given the way an operator would.
/// Each host has its own metrics registry, so a fresh one starts from zero. The background readiness probe is off
/// (<c>Sidecar:ReadinessInterval=00:00:00</c>) unless a test sets an interval: tests that count what the worker
/// received see only their clients' requests, and the probe's own tests turn it on. The idle heap trim is off too
/// (<c>Sidecar:IdleTrimAfter=00:00:00</c>): it is a whole process's concern, and many hosts share the test process;
/// its tests run the sidecar as its own process (<see cref="SidecarProcess"/>). Its <c>/metrics</c> is read with
/// <see cref="SidecarScrapes"/>.
/// </summary>
public sealed class SidecarHost : IRunningSidecar, IAsyncDisposable
{
    private readonly WebApplication _app;

    private SidecarHost(WebApplication app, Uri proxy, Uri admin)
    {
        _app = app;
        ProxyAddress = proxy;
        AdminAddress = admin;
        Client = new HttpClient { BaseAddress = proxy, Timeout = TimeSpan.FromSeconds(60) };
        AdminClient = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri ProxyAddress { get; }
    public Uri AdminAddress { get; }
    public HttpClient Client { get; }
    public HttpClient AdminClient { get; }
    public IServiceProvider Services => _app.Services;

    /// <param name="settings">Configuration as <c>Key=value</c>, e.g. <c>Sidecar:Metrics:MaxModels=3</c>.</param>
    public static Task<SidecarHost> StartAsync(string workerAddress, params string[] settings) =>
        StartAsync(workerAddress, logs: null, settings);

    /// <param name="logs">Receives every log line the sidecar writes; none are written when null.</param>
    public static async Task<SidecarHost> StartAsync(string workerAddress, ILoggerProvider? logs, params string[] settings)
    {
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            "--Sidecar:AdminPort=0",
            "--Sidecar:AdminAddress=127.0.0.1",
            "--Sidecar:ReadinessInterval=00:00:00",
            "--Sidecar:IdleTrimAfter=00:00:00",
            $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={workerAddress}",
            .. settings.Select(s => "--" + s),
        ];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.AddSidecar();
        var app = builder.Build();
        app.MapSidecar();
        await app.StartAsync();
        var admin = app.Services.GetRequiredService<AdminServer>().Address!;
        return new SidecarHost(app, new Uri(app.Urls.First()), admin);
    }

    /// <summary>Begins the shutdown SIGTERM begins: stop accepting, let requests in flight finish.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        AdminClient.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

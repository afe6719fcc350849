using Dynamo.Sidecar.Admin;
using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// The whole sidecar, as Program.cs builds it, on real Kestrel sockets bound to loopback with free
/// ports, with the shipped appsettings.json and the worker address given the way an operator would.
/// Each host has its own metrics registry, so a fresh one starts from zero. The readiness probe and the idle heap trim
/// are off as in every test sidecar (<see cref="RunningSidecar.Arguments"/>); the trim is a whole process's concern and
/// many hosts share the test process, so its tests run the sidecar as its own process (<see cref="SidecarProcess"/>).
/// Its <c>/metrics</c> is read with <see cref="SidecarScrapes"/>.
/// </summary>
public sealed class SidecarHost : RunningSidecar
{
    private readonly WebApplication _app;

    private SidecarHost(WebApplication app, Uri proxy, Uri admin)
        : base(proxy, admin)
    {
        _app = app;
    }

    public IServiceProvider Services => _app.Services;

    /// <param name="settings">Configuration as <c>Key=value</c>, e.g. <c>Sidecar:Metrics:MaxModels=3</c>.</param>
    public static Task<SidecarHost> StartAsync(string workerAddress, params string[] settings) =>
        StartAsync(workerAddress, logs: null, settings);

    /// <param name="logs">Receives every log line the sidecar writes; none are written when null.</param>
    public static async Task<SidecarHost> StartAsync(string workerAddress, ILoggerProvider? logs, params string[] settings)
    {
        var args = Arguments("http://127.0.0.1:0", adminPort: 0, workerAddress, settings);
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

    protected override async ValueTask DisposeSidecarAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

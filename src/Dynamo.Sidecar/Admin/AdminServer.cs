using Dynamo.Sidecar.Attribution;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Tracing;
using Dynamo.Sidecar.Metering;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// The admin listener: a host of its own, so it never shares a port or a pipeline with the proxy
/// (the proxy never serves <c>/metrics</c>; the admin port never forwards) and <c>--urls</c> keeps
/// meaning the proxy listener. It is stopped after the proxy listener has drained, so Prometheus and the
/// worker's preStop hook can read <c>/metrics</c> for the whole drain.
/// </summary>
internal sealed class AdminServer(
    IOptions<SidecarOptions> options,
    SidecarMetrics metrics,
    ProcessMetrics processMetrics,
    WorkerReadinessProbe readiness,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    IOptions<ObservabilityOptions> observability) : IHostedService, IAsyncDisposable
{
    private readonly bool _openMetrics = observability.Value.Exemplars;
    private readonly ILogger _logger = loggerFactory.CreateLogger<AdminServer>();
    private WebApplication? _app;

    /// <summary>Where the admin listener is bound, once started.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            if (settings.ParseAdminAddress() is { } address)
            {
                kestrel.Listen(address, settings.AdminPort);
            }
            else
            {
                kestrel.ListenAnyIP(settings.AdminPort);
            }
        });

        var app = builder.Build();
        app.UseRouting();
        app.MapGet("/metrics", WriteMetricsAsync);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", async (CancellationToken ct) =>
            await readiness.IsReadyAsync(ct) ? Results.Text("ready\n") : Results.Text("worker not ready\n", statusCode: StatusCodes.Status503ServiceUnavailable));

        await app.StartAsync(cancellationToken);
        _app = app;
        var bound = app.Urls.First();
        Address = new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        Log.AdminListening(_logger, bound);
        lifetime.ApplicationStopping.Register(() => Log.Draining(_logger, Total(metrics.Inflight), settings.DrainTimeout));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The proxy listener has drained (or cut what outlasted the drain timeout): these are the final
        // counts, which no later scrape will see, so they are logged.
        Log.Drained(_logger, Total(metrics.RequestsStarted), Total(metrics.Requests), Total(metrics.Inflight));
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static double Total(Counter family) => family.GetAllLabelValues().Sum(labels => family.WithLabels(labels).Value);

    private static double Total(Gauge family) => family.GetAllLabelValues().Sum(labels => family.WithLabels(labels).Value);

    private async Task WriteMetricsAsync(HttpContext context)
    {
        if (_openMetrics && OpenMetricsExposition.IsAccepted(context.Request))
        {
            await OpenMetricsExposition.WriteAsync(context, metrics.Registry, processMetrics.Registry);
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        await processMetrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }
}

using Dynamo.Sidecar.Admin;
using Dynamo.Sidecar.Attribution;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Proxy;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Dynamo.Sidecar.Hosting;

/// <summary>The sidecar's wiring: services on the builder, the proxy pipeline on the app.</summary>
public static class SidecarHostingExtensions
{
    private const string DefaultProxyUrl = "http://0.0.0.0:8080";

    public static WebApplicationBuilder AddSidecar(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
            && string.IsNullOrEmpty(builder.Configuration["HTTP_PORTS"])
            && string.IsNullOrEmpty(builder.Configuration["HTTPS_PORTS"]))
        {
            builder.WebHost.UseUrls(DefaultProxyUrl);
        }

        var services = builder.Services;
        services.AddOptions<SidecarOptions>()
            .BindConfiguration(SidecarOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SidecarOptions>, SidecarOptionsValidator>();
        // The host's stop waits this long for the proxy listener's requests before cutting them; it
        // replaces DOTNET_SHUTDOWNTIMEOUTSECONDS so the drain is configured like every other setting.
        services.AddOptions<HostOptions>().Configure<IOptions<SidecarOptions>>(
            (host, sidecar) => host.ShutdownTimeout = sidecar.Value.DrainTimeout);
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelLimitsSetup>();
        services.AddSingleton<IConfigureOptions<SocketTransportOptions>, InlineSocketScheduling>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SidecarMetrics>();
        services.AddSingleton<ProcessMetrics>();
        services.AddSingleton<ModelLabels>();
        services.AddSingleton<ModelGauges>();
        services.AddSingleton<WorkerModelReader>();
        services.AddSingleton<WorkerReadinessProbe>();
        services.AddSingleton<AdminServer>();
        services.AddHostedService(sp => sp.GetRequiredService<AdminServer>());
        services.AddHostedService<ReadinessPoller>();
        services.AddHostedService<IdleHeapTrimmer>();
        builder.AddSidecarObservability();

        var proxy = services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, WorkerHttpClientFactory>());
        if (builder.Configuration.GetValue($"{SidecarOptions.SectionName}:{nameof(SidecarOptions.MeteringEnabled)}", true))
        {
            proxy.AddTransforms<MeteringResponseTransform>();
        }

        return builder;
    }

    public static WebApplication MapSidecar(this WebApplication app)
    {
        var meteringEnabled = app.Services.GetRequiredService<IOptions<SidecarOptions>>().Value.MeteringEnabled;
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<WorkerErrorResponder>();
            if (meteringEnabled)
            {
                pipeline.UseMiddleware<MeteringMiddleware>();
            }

            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }
}

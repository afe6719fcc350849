using Dynamo.Sidecar.AccessLog;
using Dynamo.Sidecar.Tracing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dynamo.Sidecar.Attribution;

/// <summary>Wiring of tenant attribution, traces, exemplars and the access log; each is off unless configured.</summary>
internal static class ObservabilityServiceExtensions
{
    private const string DefaultServiceName = "dynamo-sidecar";

    public static WebApplicationBuilder AddSidecarObservability(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ObservabilityOptions>()
            .BindConfiguration(Hosting.SidecarOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ObservabilityOptions>, ObservabilityOptionsValidator>();
        services.AddSingleton<TenantLabels>();
        services.AddSingleton<TenantResolver>();
        services.AddSingleton<TenantMetrics>();
        services.AddSingleton<AccessLogWriter>();
        services.AddSingleton<RequestObservers>();

        // Needed with tracing off too: it is what keeps the client's trace headers byte for byte.
        TraceHeaderPropagator.Install();
        if (SidecarTracing.IsEnabled(builder.Configuration))
        {
            // The exporter reads the standard OTEL_* settings (endpoint, protocol, headers, batch delays).
            var tracing = services.AddOpenTelemetry().WithTracing(traces => traces
                .AddSource(SidecarTracing.SourceName)
                .AddOtlpExporter());
            if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]))
            {
                tracing.ConfigureResource(resource => resource.AddService(DefaultServiceName));
            }
        }

        return builder;
    }
}

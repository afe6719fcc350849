using System.Diagnostics;

namespace Dynamo.Sidecar.Tracing;

/// <summary>
/// The sidecar's span source, and whether tracing is on: the standard OpenTelemetry environment decides
/// (an OTLP endpoint is set and the SDK is not disabled), so the sidecar is configured like any traced service.
/// </summary>
internal static class SidecarTracing
{
    public const string SourceName = "Dynamo.Sidecar";

    public static readonly ActivitySource Source = new(SourceName);

    public static bool IsEnabled(IConfiguration configuration) =>
        !string.Equals(configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase)
        && (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]));
}

using Microsoft.Net.Http.Headers;
using Prometheus;

namespace Dynamo.Sidecar.Tracing;

/// <summary>
/// <c>/metrics</c> in the OpenMetrics text format, the only one that carries exemplars, for a scraper that asks
/// for it (Prometheus does). Served only when exemplars are on, so the default exposition stays as it is.
/// </summary>
internal static class OpenMetricsExposition
{
    public const string ContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private static readonly byte[] EndOfExposition = "# EOF\n"u8.ToArray();

    public static bool IsAccepted(HttpRequest request)
    {
        foreach (var accept in request.Headers.Accept)
        {
            if (accept is not null && accept.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes the registries as one exposition: each ends its own with <c># EOF</c>, which may appear only once, last.</summary>
    public static async Task WriteAsync(HttpContext context, params CollectorRegistry[] registries)
    {
        context.Response.Headers[HeaderNames.ContentType] = ContentType;
        using var exposition = new MemoryStream();
        foreach (var registry in registries)
        {
            await registry.CollectAndExportAsTextAsync(exposition, ExpositionFormat.OpenMetricsText, context.RequestAborted);
            if (exposition.Length >= EndOfExposition.Length
                && exposition.GetBuffer().AsSpan((int)exposition.Length - EndOfExposition.Length, EndOfExposition.Length).SequenceEqual(EndOfExposition))
            {
                exposition.SetLength(exposition.Length - EndOfExposition.Length);
            }
        }

        exposition.Write(EndOfExposition);
        await context.Response.Body.WriteAsync(exposition.GetBuffer().AsMemory(0, (int)exposition.Length), context.RequestAborted);
    }
}

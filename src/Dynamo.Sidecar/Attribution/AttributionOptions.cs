using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Attribution;

/// <summary>
/// The request-end features of the <c>Sidecar</c> section: tenant attribution, exemplars and the access log.
/// All off by default. Bound from the same section as <see cref="Hosting.SidecarOptions"/>, which does not
/// know these keys.
/// </summary>
internal sealed record ObservabilityOptions
{
    [Required, ValidateObjectMembers]
    public AttributionOptions Attribution { get; set; } = new();

    /// <summary>One JSON line per metered request, when it ends, in the <c>Dynamo.Sidecar.AccessLog</c> category.</summary>
    public bool AccessLog { get; set; }

    /// <summary>
    /// TTFT, duration and output-token observations of a request with a sampled trace carry a <c>trace_id</c>
    /// exemplar, and <c>/metrics</c> answers in OpenMetrics to a scraper that asks for it.
    /// </summary>
    public bool Exemplars { get; set; }
}

/// <summary>The <c>Sidecar:Attribution</c> configuration section.</summary>
internal sealed record AttributionOptions
{
    /// <summary>Request header that names the tenant (e.g. <c>x-tenant-id</c>, set by the gateway in front).</summary>
    public string? Header { get; set; }

    /// <summary>Read the tenant from the body: OpenAI's <c>user</c>, Anthropic's <c>metadata.user_id</c>. The header wins.</summary>
    public bool FromBody { get; set; }

    /// <summary>The first this many distinct tenants become label values; the rest are <c>other</c>.</summary>
    [Range(1, 100_000)]
    public int MaxTenants { get; set; } = 100;

    public bool Enabled => !string.IsNullOrEmpty(Header) || FromBody;
}

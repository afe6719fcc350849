using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>The <c>Sidecar</c> configuration section.</summary>
internal sealed record SidecarOptions
{
    public const string SectionName = "Sidecar";

    /// <summary>Port of the admin listener that serves <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int AdminPort { get; set; } = 9464;

    /// <summary>Address the admin listener binds to: <c>*</c> for every interface, or one IP address (e.g. the pod IP).</summary>
    [Required]
    public string AdminAddress { get; set; } = "*";

    /// <summary>Path on the worker that <c>/readyz</c> probes; any status below 500 means ready.</summary>
    [Required, RegularExpression("^/.*", ErrorMessage = "Sidecar:ReadinessPath must start with '/'.")]
    public string ReadinessPath { get; set; } = "/health";

    /// <summary>
    /// How often the worker is probed in the background (its readiness path, then <c>/v1/models</c>), so the
    /// model gauges stay current when nobody calls <c>/readyz</c>; <c>00:00:00</c> probes only when <c>/readyz</c> is called.
    /// </summary>
    public TimeSpan ReadinessInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After this long without traffic the heap a burst grew is given back to the system (one aggressive GC);
    /// <c>00:00:00</c> never trims.
    /// </summary>
    public TimeSpan IdleTrimAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Switches request rewriting and metering off, leaving a plain YARP proxy (for benchmarks and emergencies).</summary>
    public bool MeteringEnabled { get; set; } = true;

    /// <summary>Largest request body read to find <c>model</c> and <c>stream</c>; larger bodies pass through uninspected.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxInspectedRequestBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest SSE event or unary JSON token the meter parses; anything larger passes through unparsed.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxInspectedEventBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long, after SIGTERM, streams in flight may still finish before they are cut and the process exits
    /// (the host's shutdown timeout). Keep it below the pod's <c>terminationGracePeriodSeconds</c> minus the preStop sleep.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(150);

    [Required, ValidateObjectMembers]
    public MetricsOptions Metrics { get; set; } = new();

    [Required]
    public MeteringOptions Metering { get; set; } = new();

    internal IPAddress? ParseAdminAddress() =>
        AdminAddress is "*" or "" ? null : IPAddress.Parse(AdminAddress);
}

/// <summary>The <c>Sidecar:Metrics</c> configuration section.</summary>
internal sealed record MetricsOptions
{
    /// <summary>Prefix of every exported metric name, without the trailing underscore.</summary>
    [Required, RegularExpression("^[a-zA-Z_:][a-zA-Z0-9_:]*$", ErrorMessage = "Sidecar:Metrics:Prefix must be a valid Prometheus metric name.")]
    public string Prefix { get; set; } = "dynamo_frontend";

    /// <summary>When set, only these model names are used as label values; every other model is <c>unknown_model</c>.</summary>
    public string[] Models { get; set; } = [];

    /// <summary>Without an allow-list, the first this many distinct model names become label values.</summary>
    [Range(1, 100_000)]
    public int MaxModels { get; set; } = 100;

    /// <summary>
    /// Labels added to every sidecar family (not the process metrics), e.g. <c>dynamo_namespace</c>, which Dynamo's Planner filters on.
    /// </summary>
    public Dictionary<string, string> ConstantLabels { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The <c>Sidecar:Metering</c> configuration section: how workers' usage figures are read.</summary>
internal sealed record MeteringOptions
{
    /// <summary>
    /// The worker's Anthropic Messages <c>input_tokens</c> already includes cache reads (SGLang, Ollama), so the input
    /// sequence is <c>input_tokens</c> + <c>cache_creation_input_tokens</c> instead of Anthropic's sum of all three.
    /// </summary>
    public bool AnthropicInputIncludesCached { get; set; }
}

using System.Diagnostics;
using Dynamo.Sidecar.AccessLog;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Tracing;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Attribution;

/// <summary>
/// The features that look at a metered request as a whole (tenant metrics, span, exemplars, access log),
/// resolved once at start. With all of them off, <see cref="Begin"/> returns null and a request costs what it
/// did without them.
/// </summary>
internal sealed class RequestObservers
{
    private readonly TenantResolver? _tenants;
    private readonly TenantMetrics? _tenantMetrics;
    private readonly AccessLogWriter? _accessLog;
    private readonly bool _tracing;
    private readonly bool _exemplars;

    public RequestObservers(IServiceProvider services, IOptions<ObservabilityOptions> options, IConfiguration configuration)
    {
        var settings = options.Value;
        // Resolved only when on: TenantMetrics registers its families when it is constructed.
        if (settings.Attribution.Enabled)
        {
            _tenants = services.GetRequiredService<TenantResolver>();
            _tenantMetrics = services.GetRequiredService<TenantMetrics>();
        }

        _accessLog = settings.AccessLog ? services.GetRequiredService<AccessLogWriter>() : null;
        _tracing = SidecarTracing.IsEnabled(configuration);
        _exemplars = settings.Exemplars;
    }

    public bool Any => _tenants is not null || _accessLog is not null || _tracing || _exemplars;

    /// <summary>Called once the request is accepted and its meter opened; null when every feature is off.</summary>
    public RequestObservation? Begin(HttpRequest request, string? bodyUser, RequestMeter meter)
    {
        if (!Any)
        {
            return null;
        }

        var tenant = _tenants?.Resolve(request, bodyUser);
        var previous = Activity.Current;
        var span = _tracing ? RequestSpan.Start(request, meter.Endpoint, meter.Model) : null;
        // Without a span of its own, the sidecar still knows the client's trace.
        var hasClientTrace = ActivityContext.TryParse(request.Headers.TraceParent, request.Headers.TraceState, isRemote: true, out var client);
        var trace = span is not null ? span.Context : hasClientTrace ? client : default;
        var traceId = trace.TraceId == default ? null : trace.TraceId.ToHexString();
        if (_exemplars && trace.TraceFlags.HasFlag(ActivityTraceFlags.Recorded))
        {
            meter.ExemplarTraceId = traceId;
        }

        return new RequestObservation(this, tenant, span, previous, traceId);
    }

    internal void End(RequestObservation observation, in RequestSummary summary)
    {
        if (observation.Tenant is { } tenant)
        {
            _tenantMetrics?.Record(tenant, summary);
        }

        if (observation.Span is { } span)
        {
            RequestSpan.End(span, observation.PreviousActivity, summary);
        }

        _accessLog?.Write(summary, observation.Tenant, observation.TraceId);
    }
}

/// <summary>One request's tenant and trace, from <see cref="RequestObservers.Begin"/> to its end.</summary>
internal sealed class RequestObservation(RequestObservers observers, string? tenant, Activity? span, Activity? previousActivity, string? traceId)
{
    public string? Tenant { get; } = tenant;

    public Activity? Span { get; } = span;

    public Activity? PreviousActivity { get; } = previousActivity;

    public string? TraceId { get; } = traceId;

    /// <summary>Hands the ended request to every enabled observer; call once, after the meter completed.</summary>
    public void End(in RequestSummary summary) => observers.End(this, summary);
}

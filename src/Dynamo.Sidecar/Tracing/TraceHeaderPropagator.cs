using System.Diagnostics;

namespace Dynamo.Sidecar.Tracing;

/// <summary>
/// Decides the trace headers the worker receives (SPEC §5). Installed as the process's
/// <see cref="DistributedContextPropagator.Current"/>, which YARP wraps for its client to the worker: without
/// it, .NET's propagator puts the id of an ASP.NET Core or HttpClient activity the sidecar never exports into
/// <c>traceparent</c>, and adds one to requests that came without.
/// </summary>
/// <remarks>
/// Outgoing: the client's <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> pass as sent (they are
/// request headers YARP copies), unless the request belongs to a span of the sidecar that is exported; then
/// <c>traceparent</c> names that span and <c>tracestate</c> is the client's, carried on the span. Declaring no
/// <see cref="Fields"/> keeps YARP from removing the client's headers first.
/// Incoming (ASP.NET Core's extraction) is .NET's default, unchanged.
/// </remarks>
internal sealed class TraceHeaderPropagator(DistributedContextPropagator extraction) : DistributedContextPropagator
{
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    public override IReadOnlyCollection<string> Fields => [];

    /// <summary>Installs the propagator once per process; hosts built later in the same process share it.</summary>
    public static void Install()
    {
        var current = Current;
        if (current is not TraceHeaderPropagator)
        {
            Current = new TraceHeaderPropagator(current);
        }
    }

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (setter is null || FindExportedSpan(activity) is not { } span)
        {
            return;
        }

        if (carrier is HttpRequestMessage message)
        {
            message.Headers.Remove(TraceParent);
            message.Headers.Remove(TraceState);
        }

        setter(carrier, TraceParent, span.Id!);
        if (!string.IsNullOrEmpty(span.TraceStateString))
        {
            setter(carrier, TraceState, span.TraceStateString);
        }
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        extraction.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        extraction.ExtractBaggage(carrier, getter);

    // HttpClient hands over its own child activity; the sidecar's span is an ancestor of it.
    private static Activity? FindExportedSpan(Activity? activity)
    {
        for (var current = activity; current is not null; current = current.Parent)
        {
            if (ReferenceEquals(current.Source, SidecarTracing.Source))
            {
                return current.Recorded && current.IdFormat == ActivityIdFormat.W3C ? current : null;
            }
        }

        return null;
    }
}

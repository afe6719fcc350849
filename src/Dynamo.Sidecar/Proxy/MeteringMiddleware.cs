using Dynamo.Sidecar.Attribution;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// Runs in YARP's proxy pipeline: for a metered request it reads the body, forces usage on
/// streams, opens the request's accounting, and closes it on every path once forwarding ends.
/// </summary>
internal sealed class MeteringMiddleware(
    RequestDelegate next,
    SidecarMetrics metrics,
    ModelLabels modelLabels,
    TimeProvider time,
    IOptions<SidecarOptions> options,
    RequestObservers observers)
{
    private readonly int _maxRequestBytes = options.Value.MaxInspectedRequestBytes;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!MeteredEndpoints.TryMatch(context.Request.Method, context.Request.Path.Value, out var endpoint))
        {
            await next(context);
            return;
        }

        InspectedRequest request;
        try
        {
            request = await InspectedRequest.ReadAsync(context.Request, endpoint, _maxRequestBytes, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            // The client left while still sending its request: nothing was accepted, nothing to meter.
            return;
        }

        var meter = new RequestMeter(metrics, time, modelLabels.LabelFor(request.Model), endpoint, request.IsStream);
        var exchange = new MeteredExchange(meter, removeUsageChunk: request.IsStream && !request.ClientWantsUsage && endpoint.ForcesUsage());
        context.Features.Set(exchange);
        var observation = observers.Begin(context.Request, request.User, meter);
        // An encoded response could not be read; the worker compresses only when asked to.
        context.Request.Headers.Remove(HeaderNames.AcceptEncoding);

        try
        {
            await next(context);
        }
        finally
        {
            var outcome = OutcomeClassifier.Classify(context, exchange);
            meter.Complete(outcome);
            observation?.End(meter.Summarize(outcome, context.Response.StatusCode));
        }
    }
}

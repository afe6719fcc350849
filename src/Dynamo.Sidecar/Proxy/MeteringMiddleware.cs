using Dynamo.Sidecar.Attribution;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// Runs in YARP's proxy pipeline and tells the path of one metered request, in order (SPEC §1, §2):
/// <list type="number">
/// <item><b>Inspect</b>: read the body (bounded), learn its model and whether it streams (<see cref="InspectedRequest"/>);
/// the request is accepted, its accounting opens (<see cref="RequestMeter"/>).</item>
/// <item><b>Rewrite</b>: put back the body the worker must receive, with usage forced on streams
/// (<see cref="InspectedRequest.RewriteBody"/>, <see cref="UsageRequestRewriter"/>), and ask for an unencoded answer.</item>
/// <item><b>Forward</b>: YARP sends the request; when the worker's headers come back, <see cref="MeteringResponseTransform"/>
/// puts a metering stream between the worker's body and YARP's copier.</item>
/// <item><b>Frame</b>: each upstream read is cut into whole SSE events (<see cref="SseMeteringStream"/>,
/// <see cref="Sse.SseEventFramer"/>).</item>
/// <item><b>Read chunk</b>: each event's data is read as the endpoint's chunk (<see cref="StreamedResponseMeter"/>); a JSON
/// body's usage is read as it passes (<see cref="UnaryMeteringStream"/>).</item>
/// <item><b>Count</b>: the chunk's tokens and timing go into plain fields (<see cref="RequestMeter.OnChunk"/>).</item>
/// <item><b>Publish</b>: what one upstream read added reaches the metrics at once (<see cref="RequestMeter.Publish"/>).</item>
/// <item><b>Close</b>: on every path, once forwarding ends: the outcome is judged (<see cref="OutcomeClassifier"/>), the
/// accounting ends (<see cref="RequestMeter.Complete"/>) and the request-end observers see it.</item>
/// </list>
/// Steps 4 to 7 repeat for every read of the response body, inside the metering stream.
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

        // :: Step 1: Inspect. The body says the model and whether the answer streams; then the accounting opens.
        InspectedRequest request;
        try
        {
            request = await InspectedRequest.ReadAsync(context.Request, _maxRequestBytes, context.RequestAborted);
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

        // :: Step 2: Rewrite. The worker gets the body with usage forced, and is asked for an answer the meter can read
        //    (it compresses only when asked to).
        request.RewriteBody(context.Request, endpoint);
        context.Request.Headers.Remove(HeaderNames.AcceptEncoding);

        try
        {
            // :: Step 3: Forward. YARP sends the request; MeteringResponseTransform meters the response body as it is
            //    copied to the client (steps 4 to 7).
            await next(context);
        }
        finally
        {
            // :: Step 8: Close. On every path: success, worker failure, client gone.
            var outcome = OutcomeClassifier.Classify(context, exchange);
            meter.Complete(outcome);
            observation?.End(meter.Summarize(outcome, context.Response.StatusCode));
        }
    }
}

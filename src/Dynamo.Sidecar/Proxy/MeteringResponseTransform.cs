using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// Puts the meter between the worker's response body and YARP's copier, for every route: an SSE
/// body is read event by event (<see cref="SseMeteringStream"/>), a JSON body is read for its usage as it passes
/// (<see cref="UnaryMeteringStream"/>). The end of step 3 of a metered request (<see cref="MeteringMiddleware"/>):
/// steps 4 to 7 run in the stream it hands to YARP.
/// </summary>
internal sealed class MeteringResponseTransform(IOptions<SidecarOptions> options, ILogger<MeteringResponseTransform> logger) : ITransformProvider
{
    private readonly int _maxEventBytes = options.Value.MaxInspectedEventBytes;
    private readonly bool _anthropicInputIncludesCached = options.Value.Metering.AnthropicInputIncludesCached;
    private int _encodedBodyLogged;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context) => context.AddResponseTransform(MeterResponseAsync);

    private async ValueTask MeterResponseAsync(ResponseTransformContext context)
    {
        if (context.ProxyResponse is not { } response || context.HttpContext.Features.Get<MeteredExchange>() is not { } exchange)
        {
            return;
        }

        exchange.Meter.OnResponseStarted();
        if (!response.IsSuccessStatusCode)
        {
            return;
        }

        var content = response.Content;
        if (content.Headers.ContentEncoding.Count > 0)
        {
            if (Interlocked.Exchange(ref _encodedBodyLogged, 1) == 0)
            {
                Log.EncodedResponseNotMetered(logger, string.Join(',', content.Headers.ContentEncoding));
            }

            return;
        }

        var mediaType = content.Headers.ContentType?.MediaType;
        var isEventStream = MediaTypes.IsEventStream(mediaType);
        if (!isEventStream && !MediaTypes.IsJson(mediaType))
        {
            return;
        }

        var upstream = await content.ReadAsStreamAsync(context.CancellationToken);
        Stream metered;
        if (isEventStream)
        {
            var observer = new StreamedResponseMeter(exchange.Meter, exchange.RemoveUsageChunk, _anthropicInputIncludesCached);
            context.HttpContext.Response.RegisterForDispose(observer);
            metered = new SseMeteringStream(upstream, observer, exchange.Meter, _maxEventBytes);
            exchange.StreamInspected = true;
            if (exchange.RemoveUsageChunk)
            {
                context.HttpContext.Response.ContentLength = null;
            }
        }
        else
        {
            metered = new UnaryMeteringStream(upstream, exchange.Meter, _maxEventBytes, _anthropicInputIncludesCached);
        }

        var replacement = new StreamContent(metered);
        foreach (var header in content.Headers)
        {
            replacement.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = replacement;
    }
}

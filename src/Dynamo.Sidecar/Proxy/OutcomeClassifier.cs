using Dynamo.Sidecar.Metering;
using Yarp.ReverseProxy.Forwarder;

namespace Dynamo.Sidecar.Proxy;

/// <summary>Decides a metered request's <c>status</c> and <c>error_type</c> from what the forwarder saw (SPEC §2).</summary>
internal static class OutcomeClassifier
{
    public static RequestOutcome Classify(HttpContext context, MeteredExchange exchange)
    {
        var feature = context.GetForwarderErrorFeature();
        switch (feature?.Error ?? ForwarderError.None)
        {
            case ForwarderError.None:
                break;
            case ForwarderError.Request or ForwarderError.NoAvailableDestinations:
                return RequestOutcome.Unavailable;
            case ForwarderError.RequestTimedOut:
                return RequestOutcome.ResponseTimeout;
            case ForwarderError.RequestBodyClient when FindBadRequest(feature!.Exception) is { } badRequest:
                // Kestrel rejected the body (a bad chunk, data arriving below MinRequestBodyDataRate) and answers
                // the client with its status (400, 408): an invalid request, not a client that left.
                return RequestOutcome.FromStatusCode(badRequest.StatusCode);
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient or ForwarderError.ResponseBodyCanceled:
                // YARP reports "canceled" only when the client's RequestAborted fired, not for its own activity timer.
                return RequestOutcome.Disconnected;
            case ForwarderError.ResponseBodyDestination when feature!.Exception is OperationCanceledException:
                // YARP's activity timer cancelled the body read: the worker went silent mid-response.
                // A worker that cut the connection fails the read with an IOException instead.
                return RequestOutcome.ResponseTimeout;
            case ForwarderError.ResponseBodyDestination when exchange.Meter.StreamError is { } reported:
                // The worker reported an error in its stream, then cut it: the error it named is the cause.
                return reported;
            default:
                return RequestOutcome.Internal;
        }

        var outcome = RequestOutcome.FromStatusCode(context.Response.StatusCode);
        if (!outcome.IsSuccess || !exchange.StreamInspected)
        {
            return outcome;
        }

        // An error the worker wrote into its 200 stream decides, even when [DONE] followed it.
        if (exchange.Meter.StreamError is { } streamError)
        {
            return streamError;
        }

        // The worker closed the stream cleanly but before its end: a crash or a restart mid-generation.
        return exchange.Meter.EndedWell ? outcome : RequestOutcome.Internal;
    }

    // YARP wraps Kestrel's exception: an AggregateException of the read and the copy that failed with it.
    private static BadHttpRequestException? FindBadRequest(Exception? exception) => exception switch
    {
        null => null,
        BadHttpRequestException badRequest => badRequest,
        AggregateException aggregate => aggregate.InnerExceptions.Select(FindBadRequest).FirstOrDefault(e => e is not null),
        _ => FindBadRequest(exception.InnerException),
    };
}

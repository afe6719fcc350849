using System.Text.Json;
using Yarp.ReverseProxy.Forwarder;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// When the worker could not be reached or did not answer in time, YARP answers with a bare status;
/// clients (and the people reading their logs) get an OpenAI-style JSON error saying why instead.
/// </summary>
internal sealed class WorkerErrorResponder(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        if (context.Response.HasStarted || context.GetForwarderErrorFeature() is not { } error)
        {
            return;
        }

        var (status, type, message) = error.Error switch
        {
            ForwarderError.Request => (StatusCodes.Status502BadGateway, "worker_unreachable", "The inference worker could not be reached."),
            ForwarderError.NoAvailableDestinations => (StatusCodes.Status503ServiceUnavailable, "worker_unavailable", "No inference worker is available."),
            ForwarderError.RequestTimedOut => (StatusCodes.Status504GatewayTimeout, "worker_timeout", "The inference worker did not answer within the activity timeout."),
            ForwarderError.ResponseHeaders => (StatusCodes.Status502BadGateway, "worker_invalid_response", "The inference worker sent an invalid response."),
            _ => (0, string.Empty, string.Empty),
        };
        if (status == 0)
        {
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ErrorBody(new ErrorDetail(message, type, status)), ErrorJsonContext.Default.ErrorBody, context.RequestAborted);
    }
}

internal sealed record ErrorBody(ErrorDetail Error);

internal sealed record ErrorDetail(string Message, string Type, int Code);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ErrorJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

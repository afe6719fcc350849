using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Turns a rejected <c>/v1/messages</c> request into Anthropic's error body,
/// <c>{"type":"error","error":{"type":"invalid_request_error","message":...}}</c>, which Anthropic's clients parse.
/// </summary>
internal sealed class AnthropicErrorFilter(ILogger<AnthropicErrorFilter> logger) : IEndpointFilter
{
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText InvalidRequestError = JsonEncodedText.Encode("invalid_request_error");
    private static readonly JsonEncodedText NotFoundError = JsonEncodedText.Encode("not_found_error");
    private static readonly JsonEncodedText RateLimitError = JsonEncodedText.Encode("rate_limit_error");
    private static readonly JsonEncodedText OverloadedError = JsonEncodedText.Encode("overloaded_error");
    private static readonly JsonEncodedText ApiError = JsonEncodedText.Encode("api_error");

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.HttpContext.Response.HasStarted)
        {
            var http = context.HttpContext;
            Log.RequestRejected(logger, http.Request.Path.Value, ex.StatusCode, ex.Message);
            using var body = new PooledByteBuffer();
            using (var json = new Utf8JsonWriter(body, WireJson.WriterOptions))
            {
                json.WriteStartObject();
                json.WriteString(WireJson.Type, Error);
                json.WriteStartObject(Error);
                json.WriteString(WireJson.Type, ErrorType(ex.StatusCode));
                json.WriteString(Message, ex.Message);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            http.Response.StatusCode = ex.StatusCode;
            await JsonBody.WriteAsync(http.Response, body, http.RequestAborted);
            return Results.Empty;
        }
    }

    private static JsonEncodedText ErrorType(int statusCode) => statusCode switch
    {
        404 => NotFoundError,
        429 => RateLimitError,
        529 => OverloadedError,
        >= 500 => ApiError,
        _ => InvalidRequestError,
    };
}

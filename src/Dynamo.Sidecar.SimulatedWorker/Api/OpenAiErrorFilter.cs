using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Turns a rejected request into vLLM's error body,
/// <c>{"object":"error","message":...,"type":"BadRequestError","param":null,"code":400}</c>
/// (the type follows the status, as vLLM's does, for the statuses a simulated fault asks for).
/// </summary>
internal sealed class OpenAiErrorFilter(ILogger<OpenAiErrorFilter> logger) : IEndpointFilter
{
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText BadRequestError = JsonEncodedText.Encode("BadRequestError");
    private static readonly JsonEncodedText NotFoundError = JsonEncodedText.Encode("NotFoundError");
    private static readonly JsonEncodedText RateLimitError = JsonEncodedText.Encode("RateLimitError");
    private static readonly JsonEncodedText ServiceUnavailableError = JsonEncodedText.Encode("ServiceUnavailableError");
    private static readonly JsonEncodedText InternalServerError = JsonEncodedText.Encode("InternalServerError");
    private static readonly JsonEncodedText Param = JsonEncodedText.Encode("param");
    private static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");

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
                json.WriteString(WireJson.Object, Error);
                json.WriteString(Message, ex.Message);
                json.WriteString(WireJson.Type, ErrorType(ex.StatusCode));
                json.WriteNull(Param);
                json.WriteNumber(Code, ex.StatusCode);
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
        503 => ServiceUnavailableError,
        >= 500 => InternalServerError,
        _ => BadRequestError,
    };
}

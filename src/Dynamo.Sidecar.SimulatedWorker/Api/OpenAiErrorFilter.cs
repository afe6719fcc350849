using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Turns a rejected request into vLLM's error body,
/// <c>{"object":"error","message":...,"type":"BadRequestError","param":null,"code":400}</c>
/// (the type follows the status, as vLLM's does, for the statuses a simulated fault asks for).
/// </summary>
internal sealed class OpenAiErrorFilter(ILogger<OpenAiErrorFilter> logger) : RejectedRequestFilter(logger)
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

    protected override void WriteError(Utf8JsonWriter json, int statusCode, string message)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Object, Error);
        json.WriteString(Message, message);
        json.WriteString(WireJson.Type, ErrorType(statusCode));
        json.WriteNull(Param);
        json.WriteNumber(Code, statusCode);
        json.WriteEndObject();
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

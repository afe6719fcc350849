using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Turns a rejected <c>/v1/messages</c> request into Anthropic's error body,
/// <c>{"type":"error","error":{"type":"invalid_request_error","message":...}}</c>, which Anthropic's clients parse.
/// </summary>
internal sealed class AnthropicErrorFilter(ILogger<AnthropicErrorFilter> logger) : RejectedRequestFilter(logger)
{
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText InvalidRequestError = JsonEncodedText.Encode("invalid_request_error");
    private static readonly JsonEncodedText NotFoundError = JsonEncodedText.Encode("not_found_error");
    private static readonly JsonEncodedText RateLimitError = JsonEncodedText.Encode("rate_limit_error");
    private static readonly JsonEncodedText OverloadedError = JsonEncodedText.Encode("overloaded_error");
    private static readonly JsonEncodedText ApiError = JsonEncodedText.Encode("api_error");

    protected override void WriteError(Utf8JsonWriter json, int statusCode, string message)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Type, Error);
        json.WriteStartObject(Error);
        json.WriteString(WireJson.Type, ErrorType(statusCode));
        json.WriteString(Message, message);
        json.WriteEndObject();
        json.WriteEndObject();
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

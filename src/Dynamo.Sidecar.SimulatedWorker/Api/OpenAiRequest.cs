using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// Reads the fields shared by OpenAI-style request bodies. Anything malformed throws
/// <see cref="BadHttpRequestException"/>, which <see cref="OpenAiErrorFilter"/> turns into a vLLM error body.
/// </summary>
internal static class OpenAiRequest
{
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted);
        }
        catch (JsonException ex)
        {
            // Position only: the exception's own message can quote the body, and bodies are prompts.
            throw new BadHttpRequestException(
                $"Request body is not valid JSON (line {ex.LineNumber}, byte {ex.BytePositionInLine}).", ex);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new BadHttpRequestException("Request body must be a JSON object.");
        }

        return document;
    }

    /// <summary>The client's model name, pre-encoded for echoing in every chunk.</summary>
    public static JsonEncodedText GetModel(JsonElement root) =>
        root.TryGetProperty("model"u8, out var model) && model.ValueKind == JsonValueKind.String
            ? WireJson.Encode(model.GetString()!)
            : throw new BadHttpRequestException("Field 'model' is required and must be a string.");

    public static JsonElement GetRequired(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new BadHttpRequestException($"Field '{name}' is required.");

    public static bool GetBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                _ => throw new BadHttpRequestException($"Field '{name}' must be a boolean."),
            }
            : false;

    public static int? GetPositiveInt(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number > 0
            ? number
            : throw new BadHttpRequestException($"Field '{name}' must be a positive integer.");
    }

    /// <summary>vLLM only reports continuous usage when usage was asked for in the first place.</summary>
    public static StreamUsage GetStreamUsage(JsonElement root)
    {
        if (!root.TryGetProperty("stream_options"u8, out var options) || options.ValueKind == JsonValueKind.Null)
        {
            return StreamUsage.None;
        }

        if (options.ValueKind != JsonValueKind.Object)
        {
            throw new BadHttpRequestException("Field 'stream_options' must be an object.");
        }

        if (!GetBool(options, "include_usage"))
        {
            return StreamUsage.None;
        }

        return GetBool(options, "continuous_usage_stats") ? StreamUsage.Continuous : StreamUsage.FinalChunk;
    }
}

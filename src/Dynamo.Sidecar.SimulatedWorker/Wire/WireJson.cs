using System.Text.Encodings.Web;
using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>JSON settings and pre-encoded names shared by every response shape.</summary>
internal static class WireJson
{
    // vLLM (pydantic) escapes only what JSON requires; the default encoder would also escape '+', '<', non-ASCII...
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = Encoder };

    public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    public static readonly JsonEncodedText Object = JsonEncodedText.Encode("object");
    public static readonly JsonEncodedText Created = JsonEncodedText.Encode("created");
    public static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
    public static readonly JsonEncodedText Choices = JsonEncodedText.Encode("choices");
    public static readonly JsonEncodedText Index = JsonEncodedText.Encode("index");
    public static readonly JsonEncodedText Text = JsonEncodedText.Encode("text");
    public static readonly JsonEncodedText Logprobs = JsonEncodedText.Encode("logprobs");
    public static readonly JsonEncodedText FinishReason = JsonEncodedText.Encode("finish_reason");
    public static readonly JsonEncodedText StopReason = JsonEncodedText.Encode("stop_reason");
    public static readonly JsonEncodedText Length = JsonEncodedText.Encode("length");
    public static readonly JsonEncodedText Usage = JsonEncodedText.Encode("usage");
    public static readonly JsonEncodedText PromptTokens = JsonEncodedText.Encode("prompt_tokens");
    public static readonly JsonEncodedText TotalTokens = JsonEncodedText.Encode("total_tokens");
    public static readonly JsonEncodedText CompletionTokens = JsonEncodedText.Encode("completion_tokens");
    public static readonly JsonEncodedText PromptTokensDetails = JsonEncodedText.Encode("prompt_tokens_details");
    public static readonly JsonEncodedText CachedTokens = JsonEncodedText.Encode("cached_tokens");
    public static readonly JsonEncodedText Data = JsonEncodedText.Encode("data");
    public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    public static readonly JsonEncodedText Role = JsonEncodedText.Encode("role");
    public static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");
    public static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");

    /// <summary>Encodes a client-supplied string (the model name) once per request.</summary>
    public static JsonEncodedText Encode(string value) => JsonEncodedText.Encode(value, Encoder);

    /// <summary>A fresh id such as <c>chatcmpl-3f2a…</c>: a prefix and a random UUID in hex, like vLLM's <c>random_uuid()</c>.</summary>
    public static JsonEncodedText NewId(string prefix)
    {
        Span<char> id = stackalloc char[prefix.Length + 32];
        prefix.CopyTo(id);
        Guid.NewGuid().TryFormat(id[prefix.Length..], out _, "N");
        return JsonEncodedText.Encode(id);
    }

    /// <summary>Writes <c>usage</c> the way vLLM reports it once a completion is done.</summary>
    public static void WriteFinalUsage(Utf8JsonWriter json, int promptTokens, int cachedTokens, int completionTokens)
    {
        json.WriteStartObject(Usage);
        json.WriteNumber(PromptTokens, promptTokens);
        json.WriteNumber(TotalTokens, promptTokens + completionTokens);
        json.WriteNumber(CompletionTokens, completionTokens);
        json.WriteStartObject(PromptTokensDetails);
        json.WriteNumber(CachedTokens, cachedTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}

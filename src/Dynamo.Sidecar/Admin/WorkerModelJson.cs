using System.Text.Json;

namespace Dynamo.Sidecar.Admin;

/// <summary>A model the worker lists, with the context length it publishes for it (null when it publishes none).</summary>
internal sealed record WorkerModel(string Id, long? ContextLength);

/// <summary>What a worker's llama.cpp-style <c>GET /props</c> says: its model alias and the context length of a slot.</summary>
internal sealed record WorkerProps(string? ModelAlias, long ContextLength);

/// <summary>
/// Reads what workers publish about their models. Whatever the worker answers, the result is a value or null,
/// never an exception: entries without a string id and fields of the wrong type are skipped.
/// </summary>
internal static class WorkerModelJson
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>
    /// <c>GET /v1/models</c>: OpenAI's <c>{"object":"list","data":[{"id":...}]}</c>; vLLM and SGLang add
    /// <c>max_model_len</c> to each entry.
    /// </summary>
    /// <returns>The models listed (possibly none), or null when the body is not such a list.</returns>
    public static List<WorkerModel>? ReadModelList(ReadOnlyMemory<byte> body)
    {
        using var document = TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var models = new List<WorkerModel>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in data.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                || id.GetString() is not { Length: > 0 } name
                || !seen.Add(name))
            {
                continue;
            }

            models.Add(new WorkerModel(name, PositiveInteger(entry, "max_model_len")));
        }

        return models;
    }

    /// <summary>
    /// llama.cpp's <c>GET /props</c>: <c>default_generation_settings.n_ctx</c> is the context of one slot, what a
    /// request can use (<c>-c</c> divided by <c>-np</c>); a router without a loaded model answers 0, which is no length.
    /// </summary>
    public static WorkerProps? ReadProps(ReadOnlyMemory<byte> body)
    {
        using var document = TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("default_generation_settings", out var settings) || settings.ValueKind != JsonValueKind.Object
            || PositiveInteger(settings, "n_ctx") is not { } contextLength)
        {
            return null;
        }

        var alias = root.TryGetProperty("model_alias", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        return new WorkerProps(alias, contextLength);
    }

    private static JsonDocument? TryParse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long? PositiveInteger(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n > 0 ? n : null;
}

namespace Dynamo.Sidecar.OpenAi;

/// <summary>The OpenAI endpoints the sidecar meters (SPEC §1.2).</summary>
internal enum MeteredEndpoint
{
    ChatCompletions,
    Completions,
    Embeddings,
    Responses,
}

internal static class MeteredEndpoints
{
    public static bool TryMatch(string method, string? path, out MeteredEndpoint endpoint)
    {
        endpoint = default;
        if (!HttpMethods.IsPost(method))
        {
            return false;
        }

        switch (path)
        {
            case "/v1/chat/completions": endpoint = MeteredEndpoint.ChatCompletions; return true;
            case "/v1/completions": endpoint = MeteredEndpoint.Completions; return true;
            case "/v1/embeddings": endpoint = MeteredEndpoint.Embeddings; return true;
            case "/v1/responses": endpoint = MeteredEndpoint.Responses; return true;
            default: return false;
        }
    }

    /// <summary>The <c>endpoint</c> label value.</summary>
    public static string Label(this MeteredEndpoint endpoint) => endpoint switch
    {
        MeteredEndpoint.ChatCompletions => "chat_completions",
        MeteredEndpoint.Completions => "completions",
        MeteredEndpoint.Embeddings => "embeddings",
        MeteredEndpoint.Responses => "responses",
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint)),
    };
}

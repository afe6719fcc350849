namespace Dynamo.Sidecar.OpenAi;

/// <summary>The endpoints the sidecar meters (SPEC §1.2).</summary>
internal enum MeteredEndpoint
{
    ChatCompletions,
    Completions,
    Embeddings,
    Responses,
    AnthropicMessages,
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
            case "/v1/messages": endpoint = MeteredEndpoint.AnthropicMessages; return true;
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
        MeteredEndpoint.AnthropicMessages => "anthropic_messages",
        _ => throw new ArgumentOutOfRangeException(nameof(endpoint)),
    };

    /// <summary>
    /// Whether streaming requests get <c>include_usage</c> forced (SPEC §1.3). The Responses and Messages APIs always
    /// report usage: their requests are never rewritten and nothing is removed from their streams.
    /// </summary>
    public static bool ForcesUsage(this MeteredEndpoint endpoint) =>
        endpoint is not (MeteredEndpoint.Responses or MeteredEndpoint.AnthropicMessages);
}

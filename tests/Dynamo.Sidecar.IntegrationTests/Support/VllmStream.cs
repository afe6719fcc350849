using System.Text;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>Builds SSE bodies exactly as vLLM writes them with <c>include_usage</c> on.</summary>
internal sealed record VllmStream(string Model, IReadOnlyList<string> Tokens, int PromptTokens, int CachedTokens, string LineEnd = "\n")
{
    private const string Id = "chatcmpl-0123456789abcdef";

    public string RoleEvent => Event($"{{\"id\":\"{Id}\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"{Model}\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}");

    public IEnumerable<string> ContentEvents => Tokens.Select((token, i) =>
    {
        var finish = i == Tokens.Count - 1 ? "\"length\",\"stop_reason\":null" : "null";
        return Event($"{{\"id\":\"{Id}\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"{Model}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{token}\"}},\"logprobs\":null,\"finish_reason\":{finish}}}],\"usage\":null}}");
    });

    public string UsageEvent => Event($"{{\"id\":\"{Id}\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"{Model}\",\"choices\":[],\"usage\":{{\"prompt_tokens\":{PromptTokens},\"total_tokens\":{PromptTokens + Tokens.Count},\"completion_tokens\":{Tokens.Count},\"prompt_tokens_details\":{{\"cached_tokens\":{CachedTokens}}}}}}}");

    public string DoneEvent => Event("[DONE]");

    /// <summary>What the worker sends.</summary>
    public string Full => RoleEvent + string.Concat(ContentEvents) + UsageEvent + DoneEvent;

    /// <summary>What a client that did not ask for usage must receive.</summary>
    public string WithoutUsage => RoleEvent + string.Concat(ContentEvents) + DoneEvent;

    public byte[] FullBytes => Encoding.UTF8.GetBytes(Full);

    public string Event(string data) => $"data: {data}{LineEnd}{LineEnd}";
}

using System.Text;

namespace Dynamo.Sidecar.Benchmarks.Support;

/// <summary>
/// SSE events exactly as vLLM writes them for <c>/v1/chat/completions</c> once the sidecar has forced
/// <c>include_usage</c> (so every chunk carries <c>"usage":null</c>), with a real model id and request id.
/// </summary>
internal static class VllmChunks
{
    public const string Model = "meta-llama/Llama-3.1-8B-Instruct";

    private const string Envelope =
        "\"id\":\"chatcmpl-5d0e3c1f9b2a4e6f8a7b6c5d4e3f2a1b\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,\"model\":\"" + Model + "\"";

    /// <summary>One decode step: a one-token content delta.</summary>
    public static readonly byte[] Content = Event(
        "{" + Envelope + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" jumps\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}");

    /// <summary>The usage-only chunk that <c>include_usage</c> adds at the end of the stream.</summary>
    public static readonly byte[] UsageOnly = Event(
        "{" + Envelope + ",\"choices\":[],\"usage\":{\"prompt_tokens\":1843,\"total_tokens\":3843,\"completion_tokens\":2000,\"prompt_tokens_details\":{\"cached_tokens\":1792}}}");

    /// <summary>A comment (keep-alive): passes through, never parsed as JSON.</summary>
    public static readonly byte[] KeepAlive = Encoding.UTF8.GetBytes(": ping\n\n");

    private static byte[] Event(string json) => Encoding.UTF8.GetBytes("data: " + json + "\n\n");
}

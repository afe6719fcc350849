using System.Text;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.Benchmarks.Support;

/// <summary>
/// The events the benchmarks replay, as the <see cref="VllmStream"/> builder writes vLLM's <c>/v1/chat/completions</c>
/// stream once the sidecar has forced <c>include_usage</c>, with a real model id. Built once, before any benchmark runs.
/// </summary>
internal static class VllmChunks
{
    public const string Model = "meta-llama/Llama-3.1-8B-Instruct";

    private static readonly VllmStream Vllm = new(Model);

    /// <summary>One decode step: a one-token content delta.</summary>
    public static readonly byte[] Content = Encoding.UTF8.GetBytes(SseFrame.Event(Vllm.Content(" jumps")));

    /// <summary>The usage-only chunk that <c>include_usage</c> adds at the end of the stream.</summary>
    public static readonly byte[] UsageOnly = Encoding.UTF8.GetBytes(SseFrame.Event(Vllm.UsageOnly(1843, 2000, cached: 1792)));

    /// <summary>A comment (keep-alive): passes through, never parsed as JSON.</summary>
    public static readonly byte[] KeepAlive = Encoding.UTF8.GetBytes(": ping\n\n");
}

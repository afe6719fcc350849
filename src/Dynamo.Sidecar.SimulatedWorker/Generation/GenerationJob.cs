using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>Prompt size as reported in <c>usage</c>.</summary>
internal readonly record struct PromptUsage(int PromptTokens, int CachedTokens);

/// <summary>Which usage a stream reports, from the request's <c>stream_options</c>.</summary>
internal enum StreamUsage
{
    /// <summary>No <c>usage</c> field at all.</summary>
    None,

    /// <summary><c>"usage":null</c> on every chunk, then one usage-only chunk at the end.</summary>
    FinalChunk,

    /// <summary>Running usage on every chunk, then one usage-only chunk at the end.</summary>
    Continuous,
}

/// <summary>One admitted request: everything the engine and the wire need, none of the prompt text.</summary>
internal sealed record GenerationJob(
    JsonEncodedText Model,
    long Created,
    PromptUsage Prompt,
    int MaxTokens,
    int Choices,
    bool Stream,
    StreamUsage Usage,
    Pacing Pacing);

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// What a request asked a worker for and what the worker generated: the input a builder turns into
/// that worker's exact bytes. Each entry of <see cref="Tokens"/> (and of <see cref="Reasoning"/>, and
/// <see cref="Tool"/>'s name and each of its argument pieces) is one decode step, so one output chunk and one completion token.
/// </summary>
/// <param name="Model">The model name the worker echoes.</param>
/// <param name="Tokens">The text of each generated token, per choice.</param>
/// <param name="PromptTokens">The prompt's length in tokens.</param>
/// <param name="CachedTokens">Prompt tokens served from the prefix cache; <c>null</c> when the worker reports none.</param>
public sealed record Generation(string Model, IReadOnlyList<string> Tokens, int PromptTokens, int? CachedTokens = null)
{
    /// <summary>The request's <c>n</c>: every choice generates the same tokens.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>OpenAI's finish reason of every choice (<c>length</c> or <c>stop</c>); each worker spells it its own way.</summary>
    public string FinishReason { get; init; } = "length";

    /// <summary>Reasoning tokens generated before <see cref="Tokens"/>.</summary>
    public IReadOnlyList<string> Reasoning { get; init; } = [];

    /// <summary>A tool call generated after <see cref="Tokens"/>.</summary>
    public ToolCall? Tool { get; init; }

    /// <summary>Output chunks (completion tokens) of one choice.</summary>
    public int TokensPerChoice => Reasoning.Count + Tokens.Count + (Tool is null ? 0 : 1 + Tool.ArgumentPieces.Count);

    /// <summary>Completion tokens of the whole request.</summary>
    public int CompletionTokens => TokensPerChoice * Choices;
}

/// <summary>A streamed tool call: its id and name come first, then its arguments piece by piece.</summary>
public sealed record ToolCall(string Id, string Name, IReadOnlyList<string> ArgumentPieces)
{
    public string Arguments => string.Concat(ArgumentPieces);
}

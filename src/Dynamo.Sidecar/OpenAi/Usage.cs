namespace Dynamo.Sidecar.OpenAi;

/// <summary>Token usage as a worker reports it; -1 marks a figure the worker did not send.</summary>
internal readonly record struct Usage(long PromptTokens, long CompletionTokens, long CachedTokens, long ReasoningTokens = -1)
{
    public static Usage None => new(-1, -1, -1, -1);

    public bool IsReported => PromptTokens >= 0 || CompletionTokens >= 0;
}

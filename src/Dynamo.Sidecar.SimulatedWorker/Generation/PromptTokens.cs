namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>The simulated tokenizer: roughly four UTF-8 bytes per token, like common BPE vocabularies on English.</summary>
internal static class PromptTokens
{
    /// <summary>Chat template overhead per message (role markers and separators).</summary>
    public const int TemplateTokensPerMessage = 4;

    public static int FromUtf8Length(int utf8Bytes) => Math.Max(1, (int)((utf8Bytes + 3L) / 4));
}

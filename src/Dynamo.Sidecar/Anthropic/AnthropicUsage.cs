using System.Text.Json;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Anthropic;

/// <summary>
/// An Anthropic Messages <c>usage</c> object, merged over the events that report it: each figure a later
/// usage reports replaces the earlier one (they are cumulative). -1 marks a figure never reported.
/// </summary>
internal struct AnthropicUsage
{
    public long InputTokens;
    public long CacheReadInputTokens;
    public long CacheCreationInputTokens;
    public long OutputTokens;

    public static AnthropicUsage None => new() { InputTokens = -1, CacheReadInputTokens = -1, CacheCreationInputTokens = -1, OutputTokens = -1 };

    /// <summary>Reads the usage object at the reader's position (anything else is skipped) over the figures so far.</summary>
    /// <returns>True when the value was an object.</returns>
    public bool Merge(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("input_tokens"u8))
            {
                InputTokens = Reported(UsageJson.ReadCount(ref reader), InputTokens);
            }
            else if (reader.ValueTextEquals("cache_read_input_tokens"u8))
            {
                CacheReadInputTokens = Reported(UsageJson.ReadCount(ref reader), CacheReadInputTokens);
            }
            else if (reader.ValueTextEquals("cache_creation_input_tokens"u8))
            {
                CacheCreationInputTokens = Reported(UsageJson.ReadCount(ref reader), CacheCreationInputTokens);
            }
            else if (reader.ValueTextEquals("output_tokens"u8))
            {
                OutputTokens = Reported(UsageJson.ReadCount(ref reader), OutputTokens);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return true;
    }

    /// <summary>
    /// In the sidecar's terms (SPEC §2): input = <c>input_tokens</c> + <c>cache_read_input_tokens</c> +
    /// <c>cache_creation_input_tokens</c>, a missing figure counting 0 (Anthropic's <c>input_tokens</c> excludes cache
    /// reads; <paramref name="inputIncludesCached"/> is for workers whose <c>input_tokens</c> already counts them);
    /// cached = <c>cache_read_input_tokens</c>; output = <c>output_tokens</c>.
    /// </summary>
    public readonly Usage ToUsage(bool inputIncludesCached)
    {
        var prompt = -1L;
        if (InputTokens >= 0 || CacheReadInputTokens >= 0 || CacheCreationInputTokens >= 0)
        {
            prompt = Add(Math.Max(InputTokens, 0), Math.Max(CacheCreationInputTokens, 0));
            if (!inputIncludesCached)
            {
                prompt = Add(prompt, Math.Max(CacheReadInputTokens, 0));
            }
        }

        return new Usage(prompt, OutputTokens, CacheReadInputTokens);
    }

    private static long Reported(long value, long earlier) => value >= 0 ? value : earlier;

    // Saturate: absurd counts from a worker must not wrap negative.
    private static long Add(long a, long b) => b > long.MaxValue - a ? long.MaxValue : a + b;
}

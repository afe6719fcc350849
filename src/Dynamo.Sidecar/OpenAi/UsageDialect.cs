using System.Text.Json;
using Dynamo.Sidecar.Anthropic;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>How a unary response spells its top-level <c>usage</c>: OpenAI's names, or Anthropic's.</summary>
internal readonly record struct UsageDialect(bool IsAnthropic, bool AnthropicInputIncludesCached)
{
    public static UsageDialect OpenAi => default;

    public static UsageDialect For(MeteredEndpoint endpoint, bool anthropicInputIncludesCached) =>
        endpoint == MeteredEndpoint.AnthropicMessages ? new UsageDialect(true, anthropicInputIncludesCached) : OpenAi;

    /// <summary>Reads the value at the reader's position: a usage object, or anything else (not reported).</summary>
    public Usage Read(ref Utf8JsonReader reader)
    {
        if (!IsAnthropic)
        {
            return UsageJson.Read(ref reader);
        }

        var usage = AnthropicUsage.None;
        return usage.Merge(ref reader) ? usage.ToUsage(AnthropicInputIncludesCached) : Usage.None;
    }
}

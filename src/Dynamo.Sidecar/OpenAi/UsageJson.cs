using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>Reads an OpenAI <c>usage</c> object (chat, completions, embeddings and responses spellings).</summary>
internal static class UsageJson
{
    /// <summary>Reads the value at the reader's position: a usage object, or null.</summary>
    public static Usage Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return Usage.None;
        }

        long prompt = -1, completion = -1, cached = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8))
            {
                prompt = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8))
            {
                completion = ReadCount(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8) || reader.ValueTextEquals("input_tokens_details"u8))
            {
                cached = ReadCachedTokens(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new Usage(prompt, completion, cached);
    }

    private static long ReadCachedTokens(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return -1;
        }

        long cached = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("cached_tokens"u8))
            {
                cached = ReadCount(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return cached;
    }

    private static long ReadCount(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0)
        {
            return value;
        }

        reader.Skip();
        return -1;
    }
}

using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Reads a streamed <c>chat.completion.chunk</c> or <c>text_completion</c> chunk in one forward pass.
/// </summary>
internal static class CompletionChunkReader
{
    /// <returns>False when the data is not a JSON object (it is then forwarded, not metered).</returns>
    public static bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts) => TryRead(json, out facts, out _);

    /// <param name="outputText">
    /// Where the value of the last non-empty, unescaped output string (<c>content</c>, <c>reasoning_content</c>,
    /// <c>reasoning</c>, <c>text</c>) lies in <paramref name="json"/>, quotes excluded; empty when there is none.
    /// </param>
    public static bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts, out Range outputText)
    {
        facts = ChunkFacts.None;
        outputText = default;
        try
        {
            var reader = new Utf8JsonReader(json, OpenAiJson.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            bool choicesEmpty = false, usageObject = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    choicesEmpty = ReadChoices(ref reader, ref facts, ref outputText);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    usageObject = reader.TokenType == JsonTokenType.StartObject;
                    facts.Usage = UsageJson.Read(ref reader);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    facts.ErrorStatusCode = StreamErrorJson.Read(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!OpenAiJson.EndsAfterRoot(ref reader))
            {
                facts = ChunkFacts.None;
                outputText = default;
                return false;
            }

            // Whatever its counts look like, a chunk with no choices and a usage object is the one include_usage adds;
            // one that also reports an error is that error, and the client must see it.
            facts.IsUsageOnly = choicesEmpty && usageObject && facts.ErrorStatusCode == 0;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 once unescaped.
            facts = ChunkFacts.None;
            outputText = default;
            return false;
        }
    }

    /// <returns>True when <c>choices</c> is an empty array.</returns>
    private static bool ReadChoices(ref Utf8JsonReader reader, ref ChunkFacts facts, ref Range outputText)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return false;
        }

        var count = 0;
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            count++;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                index = -1;
                reader.Skip();
                continue;
            }

            var carriesOutput = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    carriesOutput |= DeltaCarriesOutput(ref reader, ref outputText);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    carriesOutput |= IsNonEmptyString(ref reader, ref outputText);
                }
                else if (reader.ValueTextEquals("finish_reason"u8))
                {
                    reader.Read();
                    // TGI writes "" for "not finished yet": only a non-empty string is a finish.
                    facts.Finished |= IsNonEmptyString(ref reader);
                }
                else if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    index = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) && value >= 0 ? value : -1;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (carriesOutput)
            {
                facts.OutputChoices++;
            }
        }

        facts.ChoiceIndex = count == 1 ? index : -1;
        return count == 0;
    }

    private static bool DeltaCarriesOutput(ref Utf8JsonReader reader, ref Range outputText)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        var output = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8))
            {
                reader.Read();
                output |= IsNonEmptyString(ref reader, ref outputText);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                output |= IsNonEmptyArray(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return output;
    }

    private static bool IsNonEmptyString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.HasValueSequence ? reader.ValueSequence.Length > 0 : !reader.ValueSpan.IsEmpty;
        }

        reader.Skip();
        return false;
    }

    private static bool IsNonEmptyString(ref Utf8JsonReader reader, ref Range outputText)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            if (reader.HasValueSequence)
            {
                return reader.ValueSequence.Length > 0;
            }

            if (reader.ValueSpan.IsEmpty)
            {
                return false;
            }

            if (!reader.ValueIsEscaped)
            {
                var start = (int)reader.TokenStartIndex + 1;
                outputText = start..(start + reader.ValueSpan.Length);
            }

            return true;
        }

        reader.Skip();
        return false;
    }

    private static bool IsNonEmptyArray(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return false;
        }

        reader.Read();
        var nonEmpty = reader.TokenType != JsonTokenType.EndArray;
        while (reader.TokenType != JsonTokenType.EndArray)
        {
            reader.Skip();
            reader.Read();
        }

        return nonEmpty;
    }
}

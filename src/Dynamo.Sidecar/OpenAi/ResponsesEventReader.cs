using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Reads a streamed Responses API event: <c>*.delta</c> events carry output, <c>response.completed</c>
/// (or <c>response.incomplete</c>, a length-limited but normal end) carries usage under <c>response.usage</c>.
/// </summary>
internal static class ResponsesEventReader
{
    public static bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts)
    {
        facts = new ChunkFacts { Usage = Usage.None };
        try
        {
            var reader = new Utf8JsonReader(json, OpenAiJson.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            bool isDelta = false, hasDelta = false, ended = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        isDelta = IsDeltaType(ref reader);
                        ended = reader.ValueTextEquals("response.completed"u8) || reader.ValueTextEquals("response.incomplete"u8);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    hasDelta = reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("response"u8))
                {
                    reader.Read();
                    facts.Usage = ReadResponseUsage(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!OpenAiJson.EndsAfterRoot(ref reader))
            {
                facts = new ChunkFacts { Usage = Usage.None };
                return false;
            }

            facts.OutputChoices = isDelta && hasDelta ? 1 : 0;
            facts.Finished = ended;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 once unescaped.
            facts = new ChunkFacts { Usage = Usage.None };
            return false;
        }
    }

    private static bool IsDeltaType(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return reader.ValueSpan.EndsWith(".delta"u8);
        }

        // Event types are short; an escaped one is unescaped on the stack.
        Span<byte> type = stackalloc byte[128];
        try
        {
            return reader.ValueSpan.Length <= type.Length
                && type[..reader.CopyString(type)].EndsWith(".delta"u8);
        }
        catch (InvalidOperationException)
        {
            // Not valid UTF-8 once unescaped: not an event type we know.
            return false;
        }
    }

    private static Usage ReadResponseUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return Usage.None;
        }

        var usage = Usage.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                usage = UsageJson.Read(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return usage;
    }
}

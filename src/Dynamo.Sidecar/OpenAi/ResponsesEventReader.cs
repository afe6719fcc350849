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
                    if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence)
                    {
                        var type = reader.ValueSpan;
                        isDelta = type.EndsWith(".delta"u8);
                        ended = type.SequenceEqual("response.completed"u8) || type.SequenceEqual("response.incomplete"u8);
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

            facts.OutputChoices = isDelta && hasDelta ? 1 : 0;
            facts.Finished = ended;
            return true;
        }
        catch (JsonException)
        {
            facts = new ChunkFacts { Usage = Usage.None };
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

using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Reads a streamed Responses API event: <c>*.delta</c> events carry output, <c>response.completed</c>
/// (or <c>response.incomplete</c>, a length-limited but normal end) carries usage under <c>response.usage</c>,
/// and <c>response.failed</c> or <c>error</c> report an error inside the stream.
/// </summary>
internal static class ResponsesEventReader
{
    public static bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts)
    {
        facts = ChunkFacts.None;
        try
        {
            var reader = new Utf8JsonReader(json, OpenAiJson.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            bool isDelta = false, hasDelta = false, ended = false, failed = false, isErrorEvent = false;
            int errorMember = 0, topLevelCode = 0, responseError = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        isDelta = IsDeltaType(ref reader);
                        ended = reader.ValueTextEquals("response.completed"u8) || reader.ValueTextEquals("response.incomplete"u8);
                        failed = reader.ValueTextEquals("response.failed"u8);
                        isErrorEvent = reader.ValueTextEquals("error"u8);
                    }
                    else
                    {
                        isDelta = ended = failed = isErrorEvent = false;
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
                    (facts.Usage, responseError) = ReadResponse(ref reader);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    errorMember = StreamErrorJson.Read(ref reader);
                }
                else if (StreamErrorJson.IsCodeName(ref reader))
                {
                    // The error event writes its code at the top level: {"type":"error","code":…,"message":…}.
                    reader.Read();
                    topLevelCode = StreamErrorJson.ReadStatus(ref reader);
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
                return false;
            }

            facts.OutputChoices = isDelta && hasDelta ? 1 : 0;
            facts.Finished = ended;
            facts.UsageIsRequestTotal = facts.Usage.IsReported;
            facts.ErrorStatusCode = errorMember != 0 ? errorMember
                : isErrorEvent ? (topLevelCode != 0 ? topLevelCode : StreamErrorJson.Internal)
                : failed ? (responseError != 0 ? responseError : StreamErrorJson.Internal)
                : 0;
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 once unescaped.
            facts = ChunkFacts.None;
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

    /// <summary>Reads the <c>response</c> object: its usage, and the status its <c>error</c> stands for (0 when none).</summary>
    private static (Usage Usage, int ErrorStatus) ReadResponse(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return (Usage.None, 0);
        }

        var usage = Usage.None;
        var error = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                usage = UsageJson.Read(ref reader);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = StreamErrorJson.Read(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (usage, error);
    }
}

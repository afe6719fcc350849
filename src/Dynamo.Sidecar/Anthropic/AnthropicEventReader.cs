using System.Text.Json;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Anthropic;

/// <summary>
/// Reads the events of one streamed Anthropic Messages response (SPEC §2) from their data alone (each data object
/// repeats its event name in <c>type</c>). <c>content_block_delta</c> events with text, thinking or tool input are
/// content; <c>message_start</c> and <c>message_delta</c> carry cumulative usage, merged here across the stream;
/// <c>message_stop</c> ends it well; <c>error</c> ends it as an error. One reader per response, not thread-safe.
/// </summary>
internal sealed class AnthropicEventReader(bool inputIncludesCached)
{
    private AnthropicUsage _usage = AnthropicUsage.None;

    private enum DeltaKind : byte { None, Text, Thinking, InputJson }

    /// <returns>False when the data is not a JSON object (it is then forwarded, not metered, and changes nothing).</returns>
    public bool TryRead(ReadOnlySpan<byte> json, out ChunkFacts facts)
    {
        facts = ChunkFacts.None;
        try
        {
            var reader = new Utf8JsonReader(json, OpenAiJson.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            // Merged into a copy: an event that turns out not to be JSON must change nothing.
            var usage = _usage;
            bool isContentDelta = false, isStop = false, isError = false, reportsUsage = false, deltaHasOutput = false;
            var errorStatus = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    var isString = reader.TokenType == JsonTokenType.String;
                    isContentDelta = isString && reader.ValueTextEquals("content_block_delta"u8);
                    isStop = isString && reader.ValueTextEquals("message_stop"u8);
                    isError = isString && reader.ValueTextEquals("error"u8);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    deltaHasOutput = DeltaHasOutput(ref reader);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    reportsUsage |= usage.Merge(ref reader);
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    reportsUsage |= MergeMessageUsage(ref reader, ref usage);
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    errorStatus = StreamErrorJson.Read(ref reader);
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

            _usage = usage;
            facts.OutputChoices = isContentDelta && deltaHasOutput ? 1 : 0;
            facts.Finished = isStop;
            facts.ErrorStatusCode = errorStatus != 0 ? errorStatus : isError ? StreamErrorJson.Internal : 0;
            if (reportsUsage)
            {
                facts.Usage = usage.ToUsage(inputIncludesCached);
                facts.UsageIsRequestTotal = true;
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 once unescaped.
            facts = ChunkFacts.None;
            return false;
        }
    }

    /// <summary>A delta whose type is an output kind and whose matching field is a non-empty string.</summary>
    private static bool DeltaHasOutput(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        var kind = DeltaKind.None;
        bool text = false, thinking = false, inputJson = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                kind = reader.TokenType != JsonTokenType.String ? DeltaKind.None
                    : reader.ValueTextEquals("text_delta"u8) ? DeltaKind.Text
                    : reader.ValueTextEquals("thinking_delta"u8) ? DeltaKind.Thinking
                    : reader.ValueTextEquals("input_json_delta"u8) ? DeltaKind.InputJson
                    : DeltaKind.None;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                text = IsNonEmptyString(ref reader);
            }
            else if (reader.ValueTextEquals("thinking"u8))
            {
                thinking = IsNonEmptyString(ref reader);
            }
            else if (reader.ValueTextEquals("partial_json"u8))
            {
                inputJson = IsNonEmptyString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return kind switch
        {
            DeltaKind.Text => text,
            DeltaKind.Thinking => thinking,
            DeltaKind.InputJson => inputJson,
            _ => false,
        };
    }

    /// <summary>Reads the <c>message</c> object of <c>message_start</c>, merging its <c>usage</c>.</summary>
    private static bool MergeMessageUsage(ref Utf8JsonReader reader, ref AnthropicUsage usage)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return false;
        }

        var reported = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isUsage = reader.ValueTextEquals("usage"u8);
            reader.Read();
            if (isUsage)
            {
                reported |= usage.Merge(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return reported;
    }

    /// <summary>After a property name: whether its value is a non-empty string (the value is consumed).</summary>
    private static bool IsNonEmptyString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.HasValueSequence ? reader.ValueSequence.Length > 0 : !reader.ValueSpan.IsEmpty;
        }

        reader.Skip();
        return false;
    }
}

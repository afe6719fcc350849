using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>Collects the UTF-8 text of a prompt from the shapes OpenAI-style APIs accept.</summary>
internal static class PromptReader
{
    /// <summary>
    /// Appends every message's text (string content, or the <c>text</c> of its content parts) and returns
    /// the message count. Messages without text, such as assistant tool calls, still cost template tokens.
    /// </summary>
    public static int AppendMessages(JsonElement messages, string fieldName, PooledByteBuffer prompt)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            throw new BadHttpRequestException($"Field '{fieldName}' must be a non-empty array of messages.");
        }

        var count = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw new BadHttpRequestException($"Every item of '{fieldName}' must be an object.");
            }

            count++;
            if (message.TryGetProperty("content"u8, out var content))
            {
                AppendContent(content, prompt);
            }
        }

        return count;
    }

    /// <summary>Appends a string, or an array of strings one after another.</summary>
    public static void AppendStrings(JsonElement value, string fieldName, PooledByteBuffer prompt)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            AppendString(value, prompt);
            return;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw new BadHttpRequestException($"Field '{fieldName}' must be a string or a non-empty array of strings.");
        }

        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw new BadHttpRequestException($"Field '{fieldName}' must be a string or a non-empty array of strings.");
            }

            AppendString(item, prompt);
        }
    }

    /// <summary>Appends the unescaped UTF-8 bytes of a JSON string.</summary>
    public static void AppendString(JsonElement text, PooledByteBuffer prompt)
    {
        // The raw value is the quoted JSON token inside the document's buffer, valid while the document is
        // (callers hold it for the whole read). Without escapes it already is the text: copy, skip the string.
        var raw = JsonMarshal.GetRawUtf8Value(text)[1..^1];
        if (raw.IndexOf((byte)'\\') < 0)
        {
            prompt.Write(raw);
        }
        else
        {
            Encoding.UTF8.GetBytes(text.GetString(), prompt);
        }
    }

    /// <summary>Appends a message's content: a string, or the <c>text</c> of each of its parts.</summary>
    public static void AppendContent(JsonElement content, PooledByteBuffer prompt)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            AppendString(content, prompt);
            return;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        // Text parts ("text", "input_text", ...) all carry "text"; images and other parts add nothing here.
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object
                && part.TryGetProperty("text"u8, out var text)
                && text.ValueKind == JsonValueKind.String)
            {
                AppendString(text, prompt);
            }
        }
    }
}

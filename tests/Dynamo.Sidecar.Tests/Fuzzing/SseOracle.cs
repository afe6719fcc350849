using System.Text.Json;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>One event of a whole body as the reference framer cuts it: raw bytes, blank line included.</summary>
internal sealed record RefEvent(int Start, int Length, bool Terminated, byte[]? Data);

internal enum Removal
{
    Keep,
    Remove,
}

/// <summary>
/// An independent reference for what the client must receive: SSE framed by a straightforward reading
/// of the WHATWG rules over the whole body, and "usage-only chunk" decided with <see cref="JsonDocument"/>
/// (SPEC §1.4: data is one JSON object whose <c>choices</c> is an empty array and <c>usage</c> a non-null object).
/// </summary>
internal static class SseOracle
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 1024 };

    /// <summary>Cuts the whole body into events; the last one is unterminated when the body does not end with a blank line.</summary>
    public static List<RefEvent> Frame(byte[] input)
    {
        var events = new List<RefEvent>();
        var eventStart = 0;
        var position = 0;
        List<byte>? data = null;
        while (position < input.Length)
        {
            var lineStart = position;
            while (position < input.Length && input[position] != (byte)'\r' && input[position] != (byte)'\n')
            {
                position++;
            }

            if (position == input.Length)
            {
                break;
            }

            var lineEnd = position;
            position += input[position] == (byte)'\r' && position + 1 < input.Length && input[position + 1] == (byte)'\n' ? 2 : 1;
            if (lineEnd == lineStart)
            {
                events.Add(new RefEvent(eventStart, position - eventStart, true, data?.ToArray()));
                eventStart = position;
                data = null;
                continue;
            }

            var line = input.AsSpan(lineStart, lineEnd - lineStart);
            var colon = line.IndexOf((byte)':');
            var name = colon < 0 ? line : line[..colon];
            if (colon == 0 || !name.SequenceEqual("data"u8))
            {
                continue;
            }

            var value = colon < 0 ? [] : line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (data is null)
            {
                data = [];
            }
            else
            {
                data.Add((byte)'\n');
            }

            data.AddRange(value);
        }

        if (eventStart < input.Length)
        {
            var tail = input.AsSpan(eventStart);
            events.Add(new RefEvent(eventStart, tail.Length, false, null));
        }

        return events;
    }

    /// <summary>Whether a chat/completions event must be removed when the client did not ask for usage.</summary>
    public static Removal UsageOnlyVerdict(byte[]? data)
    {
        if (data is null)
        {
            return Removal.Keep;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data, DocumentOptions);
        }
        catch (JsonException)
        {
            // SPEC §4: a non-JSON data line is forwarded unchanged.
            return Removal.Keep;
        }

        using (document)
        {
            return IsUsageOnly(document.RootElement, out _) ? Removal.Remove : Removal.Keep;
        }
    }

    public static bool IsUsageOnly(JsonElement root, out JsonElement usage)
    {
        usage = default;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        JsonElement? choices = null;
        JsonElement? lastUsage = null;
        foreach (var property in root.EnumerateObject())
        {
            // Duplicate names: the last one counts (as for JavaScript's JSON.parse and Python's json).
            if (property.NameEquals("choices"))
            {
                choices = property.Value;
            }
            else if (property.NameEquals("usage"))
            {
                lastUsage = property.Value;
            }
        }

        if (choices is not { ValueKind: JsonValueKind.Array } c || c.GetArrayLength() != 0 || lastUsage is not { ValueKind: JsonValueKind.Object } u
            || ReportsAnError(root))
        {
            return false;
        }

        usage = u;
        return true;
    }

    /// <summary>
    /// SPEC §2: a top-level <c>error</c> (an object; TGI writes a non-empty string) makes the event an error that
    /// reaches the client unchanged, whatever else it holds. Duplicate names: the last one counts.
    /// </summary>
    private static bool ReportsAnError(JsonElement root)
    {
        JsonElement? error = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("error"))
            {
                error = property.Value;
            }
        }

        return error is { ValueKind: JsonValueKind.Object } || (error is { ValueKind: JsonValueKind.String } s && !s.ValueEquals(string.Empty));
    }

    public static bool IsCount(JsonElement? value) =>
        value is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var count) && count >= 0;
}

using System.Buffers.Text;
using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>
/// Reads an error that a worker writes inside a 200 stream (SPEC §2) as the HTTP status it stands for: the error's
/// own code (<c>code</c>, <c>http_status_code</c> or <c>status_code</c>, a number or a numeric string) when it is an
/// HTTP error status, else its <c>type</c>.
/// </summary>
internal static class StreamErrorJson
{
    public const int Internal = 500;

    /// <summary>
    /// Reads the value of a top-level <c>error</c> member at the reader's position. An object is an error (vLLM, SGLang,
    /// Anthropic); so is a non-empty string, which is how TGI writes its stream errors
    /// (<c>{"error":"…","error_type":"…"}</c>, whose types name no status, so they count as internal).
    /// </summary>
    /// <returns>The status the error stands for; 0 when the value is no error (null, an empty string, anything else).</returns>
    public static int Read(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return ReadObject(ref reader);
            case JsonTokenType.String:
                return reader.ValueSpan.Length > 0 || (reader.HasValueSequence && reader.ValueSequence.Length > 0) ? Internal : 0;
            default:
                reader.Skip();
                return 0;
        }
    }

    /// <summary>Reads an error object at the reader's position (its start) to its end.</summary>
    public static int ReadObject(ref Utf8JsonReader reader)
    {
        int fromCode = 0, fromType = Internal;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (IsCodeName(ref reader))
            {
                reader.Read();
                var status = ReadStatus(ref reader);
                fromCode = status != 0 ? status : fromCode;
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                fromType = TypeStatus(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return fromCode != 0 ? fromCode : fromType;
    }

    /// <summary>At a property name: whether it names the error's HTTP code.</summary>
    public static bool IsCodeName(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("code"u8) || reader.ValueTextEquals("http_status_code"u8) || reader.ValueTextEquals("status_code"u8);

    /// <summary>Reads a code value: an HTTP error status (400–599) as a number or a numeric string, else 0.</summary>
    public static int ReadStatus(ref Utf8JsonReader reader)
    {
        var status = 0;
        if (reader.TokenType == JsonTokenType.Number)
        {
            _ = reader.TryGetInt32(out status);
        }
        else if (reader.TokenType == JsonTokenType.String && !reader.HasValueSequence && reader.ValueSpan.Length <= 16)
        {
            Span<byte> text = stackalloc byte[16];
            var length = reader.ValueIsEscaped ? CopyOrZero(ref reader, text) : Copy(reader.ValueSpan, text);
            if (!Utf8Parser.TryParse(text[..length], out status, out var consumed) || consumed != length)
            {
                status = 0;
            }
        }
        else
        {
            reader.Skip();
        }

        return status is >= 400 and <= 599 ? status : 0;
    }

    /// <summary>Reads an error type value (OpenAI and Anthropic names) as the status it stands for.</summary>
    public static int TypeStatus(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return Internal;
        }

        if (reader.ValueTextEquals("invalid_request_error"u8))
        {
            return 400;
        }

        if (reader.ValueTextEquals("not_found_error"u8))
        {
            return 404;
        }

        if (reader.ValueTextEquals("rate_limit_error"u8))
        {
            return 429;
        }

        return reader.ValueTextEquals("overloaded_error"u8) ? 529 : Internal;
    }

    private static int Copy(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        value.CopyTo(destination);
        return value.Length;
    }

    private static int CopyOrZero(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        try
        {
            return reader.CopyString(destination);
        }
        catch (InvalidOperationException)
        {
            // Not valid UTF-8 once unescaped: not a number either.
            return 0;
        }
    }
}

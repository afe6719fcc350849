using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

/// <summary>What a metered request's JSON body says, and where its <c>stream_options</c> sit.</summary>
internal readonly record struct RequestBody(string? Model, bool Stream, bool ClientWantsUsage, StreamOptionsSpan StreamOptions, int RootEnd)
{
    /// <summary>Who the client says the end user is: OpenAI's <c>user</c>, or Anthropic's <c>metadata.user_id</c>.</summary>
    public string? User { get; init; }

    /// <summary>Reads the top-level fields the sidecar needs; false when the body is not a JSON object.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out RequestBody body)
    {
        body = default;
        try
        {
            var reader = new Utf8JsonReader(json, OpenAiJson.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? model = null;
            var stream = false;
            var options = StreamOptionsSpan.Absent;
            string? user = null;
            string? metadataUserId = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    model = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    stream = reader.TokenType == JsonTokenType.True;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("stream_options"u8))
                {
                    reader.Read();
                    options = StreamOptionsSpan.Read(ref reader);
                }
                else if (reader.ValueTextEquals("user"u8))
                {
                    reader.Read();
                    user = reader.TokenType == JsonTokenType.String ? reader.GetString() : user;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("metadata"u8))
                {
                    reader.Read();
                    metadataUserId = ReadMetadataUserId(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return false;
            }

            var rootEnd = (int)reader.TokenStartIndex;
            // Anything but white space after the object makes the body invalid JSON: leave it to the worker.
            if (reader.Read())
            {
                return false;
            }

            body = new RequestBody(model, stream, options.IncludeUsage == true, options, rootEnd) { User = user ?? metadataUserId };
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString on invalid UTF-8.
            return false;
        }
    }

    private static string? ReadMetadataUserId(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        string? userId = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isUserId = reader.ValueTextEquals("user_id"u8);
            reader.Read();
            if (isUserId && reader.TokenType == JsonTokenType.String)
            {
                userId = reader.GetString();
            }

            reader.Skip();
        }

        return userId;
    }
}

/// <summary>Where the client's <c>stream_options</c> value is in the body, for a byte-exact splice.</summary>
internal readonly record struct StreamOptionsSpan(StreamOptionsKind Kind, int Start, int End, bool? IncludeUsage, int IncludeUsageStart, int IncludeUsageEnd)
{
    public static StreamOptionsSpan Absent => new(StreamOptionsKind.Absent, 0, 0, null, 0, 0);

    public static StreamOptionsSpan Read(ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return new(StreamOptionsKind.Null, start, (int)reader.BytesConsumed, null, 0, 0);
            case JsonTokenType.StartObject:
                bool? includeUsage = null;
                int usageStart = 0, usageEnd = 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
                    reader.Read();
                    if (isIncludeUsage)
                    {
                        usageStart = (int)reader.TokenStartIndex;
                        includeUsage = reader.TokenType == JsonTokenType.True;
                    }

                    reader.Skip();
                    if (isIncludeUsage)
                    {
                        usageEnd = (int)reader.BytesConsumed;
                    }
                }

                return new(StreamOptionsKind.Object, start, (int)reader.BytesConsumed, includeUsage, usageStart, usageEnd);
            default:
                reader.Skip();
                return new(StreamOptionsKind.Other, start, (int)reader.BytesConsumed, null, 0, 0);
        }
    }
}

internal enum StreamOptionsKind
{
    Absent,
    Null,
    Object,
    Other,
}

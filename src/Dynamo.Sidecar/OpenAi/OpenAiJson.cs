using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

internal static class OpenAiJson
{
    /// <summary>
    /// Nesting the sidecar accepts when reading bodies: JSON schemas in <c>response_format</c> and
    /// <c>tools</c> go deeper than the reader's default of 64, and the worker accepts them.
    /// </summary>
    public static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 1024 };

    /// <summary>
    /// After the root object's last token: true when nothing but white space follows. Data that holds
    /// two JSON values (two <c>data:</c> lines joined) is not a chunk; it is forwarded, not metered.
    /// </summary>
    public static bool EndsAfterRoot(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
}

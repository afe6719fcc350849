using System.Text.Json;

namespace Dynamo.Sidecar.OpenAi;

internal static class OpenAiJson
{
    /// <summary>
    /// Nesting the sidecar accepts when reading bodies: JSON schemas in <c>response_format</c> and
    /// <c>tools</c> go deeper than the reader's default of 64, and the worker accepts them.
    /// </summary>
    public static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 1024 };
}

namespace Dynamo.Sidecar.Tests.Anthropic;

/// <summary>Anthropic Messages SSE events as the API (and vLLM, SGLang, llama.cpp) write them: an <c>event:</c> line, then the data.</summary>
internal static class MessagesStream
{
    public static string MessageStart(string usage) =>
        """{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":""" + usage + "}}";

    public const string ContentBlockStart = """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""";

    public const string Ping = """{"type": "ping"}""";

    public static string TextDelta(string text, int index = 0) =>
        $$"""{"type":"content_block_delta","index":{{index}},"delta":{"type":"text_delta","text":""" + System.Text.Json.JsonSerializer.Serialize(text) + "}}";

    public const string ContentBlockStop = """{"type":"content_block_stop","index":0}""";

    public static string MessageDelta(string usage, string stopReason = "end_turn") =>
        $$"""{"type":"message_delta","delta":{"stop_reason":"{{stopReason}}","stop_sequence":null},"usage":{{usage}}}""";

    public const string MessageStop = """{"type":"message_stop"}""";

    public const string OverloadedError = """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""";

    /// <summary>The event name is the data's <c>type</c>.</summary>
    public static string Event(string data, string newline = "\n")
    {
        using var document = System.Text.Json.JsonDocument.Parse(data);
        return $"event: {document.RootElement.GetProperty("type").GetString()}{newline}data: {data}{newline}{newline}";
    }

    public static string Events(params string[] data) => string.Concat(data.Select(d => Event(d)));

    /// <summary>
    /// A generation of three text deltas: 25 input, 100 cache reads, 10 cache writes, output 1 at the start and 3 at the end.
    /// </summary>
    public static string[] Generation =>
    [
        MessageStart("""{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}"""),
        ContentBlockStart,
        Ping,
        TextDelta("Hello"),
        TextDelta(","),
        TextDelta(" world"),
        ContentBlockStop,
        MessageDelta("""{"output_tokens":3}"""),
        MessageStop,
    ];
}

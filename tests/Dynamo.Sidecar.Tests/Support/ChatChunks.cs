using System.Text.Json;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>The <c>data:</c> payloads a vLLM-style worker streams for <c>/v1/chat/completions</c>.</summary>
internal static class ChatChunks
{
    private const string Head = "\"id\":\"chatcmpl-7f3a\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,\"model\":\"m\"";

    public static string Role(string? usage = null) =>
        Chunk("""[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]""", usage);

    public static string Content(string text, int index = 0, string? usage = null) =>
        Chunk($$"""[{"index":{{index}},"delta":{"content":{{JsonSerializer.Serialize(text)}}},"logprobs":null,"finish_reason":null}]""", usage);

    public static string Delta(string deltaJson, int index = 0, string? usage = null) =>
        Chunk($$"""[{"index":{{index}},"delta":{{deltaJson}},"logprobs":null,"finish_reason":null}]""", usage);

    public static string Finish(int index = 0, string reason = "stop", string? usage = null) =>
        Chunk($$"""[{"index":{{index}},"delta":{"content":""},"logprobs":null,"finish_reason":"{{reason}}","stop_reason":null}]""", usage);

    /// <summary>The chunk <c>include_usage</c> adds at the end: no choices, the request's usage.</summary>
    public static string UsageOnly(long prompt, long completion, long? cached = null) => Chunk("[]", Usage(prompt, completion, cached));

    public static string Usage(long prompt, long completion, long? cached = null) =>
        $$"""{"prompt_tokens":{{prompt}},"total_tokens":{{prompt + completion}},"completion_tokens":{{completion}}""" +
        (cached is null ? "" : $$""","prompt_tokens_details":{"cached_tokens":{{cached}}}""") + "}";

    public static string Chunk(string choicesJson, string? usage = null) =>
        "{" + Head + ",\"choices\":" + choicesJson + (usage is null ? "" : ",\"usage\":" + usage) + "}";

    /// <summary>
    /// A complete short generation as vLLM streams it with <c>include_usage</c>: role chunk, four content
    /// chunks, the finish chunk, the usage-only chunk (12 prompt, 5 completion, 4 cached) and <c>[DONE]</c>.
    /// </summary>
    public static string[] Generation =>
    [
        Role(),
        Content("Hello"),
        Content(","),
        Content(" world"),
        Content("!"),
        Finish(),
        UsageOnly(12, 5, cached: 4),
        "[DONE]",
    ];

    public const int GenerationUsageIndex = 6;
}

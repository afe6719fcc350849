using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// Ollama's OpenAI-compatible endpoints, byte for byte.
/// <para>
/// <c>ollama/ollama</c> at <c>fb30760996871fa9460115c753afd2c60d4ab0f7</c>: the types and converters of
/// <c>openai/openai.go</c> (<c>ToStreamChunks</c>, <c>FinishChunk</c>, <c>ToCompleteChunk</c>, <c>ToUsage</c>) and
/// the writers of <c>middleware/openai.go</c> (<c>ChatWriter</c>, <c>CompleteWriter</c>), which write
/// <c>fmt.Sprintf("data: %s\n\n", json.Marshal(chunk))</c>: compact, HTML-escaped, struct field order,
/// <c>system_fingerprint</c> always <c>"fp_ollama"</c>, ids <c>chatcmpl-N</c> / <c>cmpl-N</c> with N below 999.
/// </para>
/// <para>
/// Chat: the first chunk's delta has the role; <c>content</c> is kept when empty (it is an <c>any</c> holding
/// <c>""</c>), <c>reasoning</c> and <c>tool_calls</c> are omitted when empty; no chunk has <c>usage</c> (a nil
/// pointer with <c>omitempty</c>); a dedicated finish chunk with <c>"delta":{}</c> follows the content, then,
/// with <c>include_usage</c>, the same chunk with <c>"choices":[]</c> and the usage, then <c>data: [DONE]</c>.
/// A tool call comes whole, in one chunk.
/// </para>
/// <para>
/// Completions: with <c>include_usage</c> every chunk carries <c>"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}</c>
/// (<c>c.Usage = &amp;openai.Usage{}</c>); the done response adds a chunk with an empty text and the finish reason
/// (still zero usage), then the real usage on a chunk with <c>"choices":[]</c>, then <c>data: [DONE]</c>.
/// </para>
/// <para>Ollama serves no <c>n</c> and writes no error event mid-stream that this builder models.</para>
/// </summary>
public sealed class OllamaStream(string model, long created = OllamaStream.DefaultCreated)
{
    public const string DefaultChatId = "chatcmpl-347";
    public const string DefaultCompletionId = "cmpl-512";
    public const long DefaultCreated = 1730000000;

    private static readonly JsonStyle Style = JsonStyle.GoMarshal;

    public string Model { get; } = model;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation)
    {
        Modelled.Require(generation.Choices == 1, "Ollama", "n > 1");
        var ollama = new OllamaStream(generation.Model);
        var events = new EventList();
        var first = true;
        foreach (var reasoning in generation.Reasoning)
        {
            events.Data(WorkerEventKind.Content, ollama.ChatChunk(first
                ? Object(("role", "assistant"), ("content", ""), ("reasoning", reasoning))
                : Object(("content", ""), ("reasoning", reasoning)), finishReason: null));
            first = false;
        }

        foreach (var token in generation.Tokens)
        {
            events.Data(WorkerEventKind.Content, ollama.ChatChunk(first ? Object(("role", "assistant"), ("content", token)) : Object(("content", token)), finishReason: null));
            first = false;
        }

        if (generation.Tool is { } tool)
        {
            var call = Object(("id", tool.Id), ("index", 0), ("type", "function"), ("function", Object(("name", tool.Name), ("arguments", tool.Arguments))));
            events.Data(WorkerEventKind.Content, ollama.ChatChunk(first
                ? Object(("role", "assistant"), ("content", ""), ("tool_calls", Array(call)))
                : Object(("content", ""), ("tool_calls", Array(call))), finishReason: null));
        }

        var finish = generation.Tool is not null && generation.FinishReason == "stop" ? "tool_calls" : generation.FinishReason;
        events.Data(WorkerEventKind.Finish, ollama.ChatChunk(Object(), finish));
        var completion = generation.TokensPerChoice;
        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", DefaultChatId), ("object", "chat.completion.chunk"), ("created", ollama.Created), ("model", ollama.Model), ("system_fingerprint", "fp_ollama"),
            ("choices", Array()), ("usage", Usage(generation.PromptTokens, completion))).ToJson(Style));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, completion, CachedTokens: null));
    }

    public static WorkerStream Completions(Generation generation)
    {
        Modelled.Require(generation.Choices == 1, "Ollama", "n > 1");
        var ollama = new OllamaStream(generation.Model);
        var events = new EventList();
        foreach (var token in generation.Tokens)
        {
            events.Data(WorkerEventKind.Content, ollama.TextChunk(Array(TextChoice(token, null)), Usage(0, 0)));
        }

        events.Data(WorkerEventKind.Finish, ollama.TextChunk(Array(TextChoice("", generation.FinishReason)), Usage(0, 0)));
        var completion = generation.Tokens.Count;
        events.Data(WorkerEventKind.UsageOnly, ollama.TextChunk(Array(), Usage(generation.PromptTokens, completion)));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, completion, CachedTokens: null));
    }

    /// <summary>The non-streaming chat answer: <c>json.NewEncoder(w).Encode(ToChatCompletion(…))</c>, so a trailing line feed.</summary>
    public static string ChatUnary(Generation generation) => Object(
        ("id", DefaultChatId),
        ("object", "chat.completion"),
        ("created", DefaultCreated),
        ("model", generation.Model),
        ("system_fingerprint", "fp_ollama"),
        ("choices", Array(Object(("index", 0), ("message", Object(("role", "assistant"), ("content", string.Concat(generation.Tokens)))), ("finish_reason", generation.FinishReason)))),
        ("usage", Usage(generation.PromptTokens, generation.TokensPerChoice))).ToJson(Style) + "\n";

    private static OrderedJsonObject Usage(long prompt, long completion) =>
        Object(("prompt_tokens", prompt), ("completion_tokens", completion), ("total_tokens", prompt + completion));

    private static OrderedJsonObject TextChoice(string text, string? finishReason) => Object(("text", text), ("index", 0), ("finish_reason", finishReason));

    private string ChatChunk(OrderedJsonObject delta, string? finishReason) => Object(
        ("id", DefaultChatId),
        ("object", "chat.completion.chunk"),
        ("created", Created),
        ("model", Model),
        ("system_fingerprint", "fp_ollama"),
        ("choices", Array(Object(("index", 0), ("delta", delta), ("finish_reason", finishReason))))).ToJson(Style);

    private string TextChunk(object?[] choices, OrderedJsonObject usage) => Object(
        ("id", DefaultCompletionId),
        ("object", "text_completion"),
        ("created", Created),
        ("choices", choices),
        ("model", Model),
        ("system_fingerprint", "fp_ollama"),
        ("usage", usage)).ToJson(Style);
}

using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// Hugging Face text-generation-inference's router, byte for byte.
/// <para>
/// <c>huggingface/text-generation-inference</c> at <c>db931fcf42da018a3657580c64bf2720f167f9ab</c>:
/// <c>router/src/server.rs</c> (<c>completions</c>, <c>chat_completions</c>), <c>router/src/chat.rs</c>
/// (<c>create_event_from_stream_token</c>, <c>ChatState::push</c>) and the serde types of <c>router/src/lib.rs</c>.
/// axum writes each <c>Event::json_data</c> as <c>data: {json}\n\n</c>; serde_json is compact. Both
/// response types are <c>#[serde(tag = "object")]</c> enums, so <c>"object"</c> comes first. Every chunk has
/// <c>"id":""</c> and <c>"system_fingerprint":"{version}-{docker label or native}"</c>.
/// </para>
/// <para>
/// Chat: every token's delta is <c>{"role":"assistant","content":…}</c> (no role-only first chunk), <c>"usage":null</c>
/// on each chunk; the last token carries the finish reason (an EOS token is special, so its chunk has
/// <c>"content":""</c>); with <c>include_usage</c> a chunk with <c>"choices":[]</c> and the usage follows, then
/// <c>data: [DONE]</c>. TGI ignores <c>n</c>.
/// </para>
/// <para>
/// Completions: every unfinished chunk is a <c>Chunk</c> with <c>"finish_reason":""</c> (<c>String::new()</c>)
/// and no usage; the last token is a <c>CompletionFinal</c> with the finish reason (<c>length</c>,
/// <c>eos_token</c>, <c>stop_sequence</c>) and the usage, in a different field order; then <c>data: [DONE]</c>.
/// </para>
/// <para>
/// An inference error in either stream is <c>InferError::into_openai_event</c>:
/// <c>{"error":{"message":…,"http_status_code":422}}</c>; the stream goes on to <c>[DONE]</c>.
/// </para>
/// </summary>
public sealed class TgiStream(string model, long created = TgiStream.DefaultCreated)
{
    public const long DefaultCreated = 1730000000;

    /// <summary><c>info.version</c> of that commit (Cargo.toml <c>3.3.6-dev0</c>) and no docker label.</summary>
    public const string SystemFingerprint = "3.3.6-dev0-native";

    private static readonly JsonStyle Style = JsonStyle.Compact;

    public string Model { get; } = model;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation) => new TgiStream(generation.Model).ChatEvents(generation, failAfterTokens: null);

    /// <summary>A chat stream that fails (a generation error) after <paramref name="tokens"/> tokens: the error event, then <c>[DONE]</c>.</summary>
    public static WorkerStream ChatFailingAfter(Generation generation, int tokens) => new TgiStream(generation.Model).ChatEvents(generation, tokens);

    public static WorkerStream Completions(Generation generation) => new TgiStream(generation.Model).CompletionsEvents(generation, cutAfterTokens: null);

    /// <summary>
    /// A completions stream whose connection closes cleanly after <paramref name="tokens"/> unfinished chunks:
    /// each one says <c>"finish_reason":""</c>, and neither a real finish nor <c>[DONE]</c> ever comes.
    /// </summary>
    public static WorkerStream CompletionsCutAfter(Generation generation, int tokens) => new TgiStream(generation.Model).CompletionsEvents(generation, tokens);

    /// <summary>
    /// The non-streaming chat answer: <c>CompletionType::ChatCompletion(ChatCompletion::new(…))</c> through axum's
    /// <c>Json</c>, so <c>"object"</c> first, the message an untagged <c>TextMessage</c>, the EOS token counted.
    /// </summary>
    public static string ChatUnary(Generation generation)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null && generation.Choices == 1, "TGI", "reasoning, a tool call or n > 1");
        var completion = generation.Tokens.Count + (generation.FinishReason == "stop" ? 1 : 0);
        return Object(
            ("object", "chat.completion"),
            ("id", ""),
            ("created", DefaultCreated),
            ("model", generation.Model),
            ("system_fingerprint", SystemFingerprint),
            ("choices", Array(Object(
                ("index", 0),
                ("message", Object(("role", "assistant"), ("content", string.Concat(generation.Tokens)))),
                ("logprobs", null),
                ("finish_reason", FinishReason(generation, chat: true))))),
            ("usage", Object(("prompt_tokens", generation.PromptTokens), ("completion_tokens", completion), ("total_tokens", generation.PromptTokens + completion)))).ToJson(Style);
    }

    /// <summary>The error event (<c>OpenaiErrorEvent</c>); TGI always writes 422.</summary>
    public static string Error(string message) =>
        Object(("error", Object(("message", message), ("http_status_code", 422)))).ToJson(Style);

    private static string FinishReason(Generation generation, bool chat) => generation.FinishReason switch
    {
        "stop" => chat ? "stop" : "eos_token",
        var other => other,
    };

    private WorkerStream ChatEvents(Generation generation, int? failAfterTokens)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null && generation.Choices == 1, "TGI", "reasoning, a tool call or n > 1");
        var events = new EventList();
        var eos = generation.FinishReason == "stop";
        var texts = generation.Tokens.ToList();
        if (eos)
        {
            texts.Add("");
        }

        for (var step = 0; step < texts.Count; step++)
        {
            if (step == failAfterTokens)
            {
                events.Data(WorkerEventKind.Error, Error("Request failed during generation: Server error: CUDA out of memory"));
                events.Done();
                return new WorkerStream(events, usage: null);
            }

            var last = step == texts.Count - 1;
            events.Data(eos && last ? WorkerEventKind.Finish : WorkerEventKind.Content, ChatChunk(
                Array(Object(
                    ("index", 0),
                    ("delta", Object(("role", "assistant"), ("content", texts[step]))),
                    ("logprobs", null),
                    ("finish_reason", last ? FinishReason(generation, chat: true) : null))),
                usage: null));
        }

        var completion = texts.Count;
        events.Data(WorkerEventKind.UsageOnly, ChatChunk(Array(), Object(
            ("prompt_tokens", generation.PromptTokens), ("completion_tokens", completion), ("total_tokens", generation.PromptTokens + completion))));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, completion, CachedTokens: null));
    }

    private string ChatChunk(object?[] choices, OrderedJsonObject? usage) => Object(
        ("object", "chat.completion.chunk"),
        ("id", ""),
        ("created", Created),
        ("model", Model),
        ("system_fingerprint", SystemFingerprint),
        ("choices", choices),
        ("usage", usage)).ToJson(Style);

    private WorkerStream CompletionsEvents(Generation generation, int? cutAfterTokens)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null && generation.Choices == 1, "TGI", "reasoning, a tool call or n > 1");
        var events = new EventList();
        var tokens = generation.Tokens;
        for (var step = 0; step < tokens.Count; step++)
        {
            if (step == cutAfterTokens)
            {
                return new WorkerStream(events, usage: null);
            }

            var choice = Object(("index", 0), ("text", tokens[step]), ("logprobs", null), ("finish_reason", step == tokens.Count - 1 ? FinishReason(generation, chat: false) : ""));
            if (step < tokens.Count - 1)
            {
                events.Data(WorkerEventKind.Content, Object(
                    ("object", "text_completion"), ("id", ""), ("created", Created), ("choices", Array(choice)), ("model", Model), ("system_fingerprint", SystemFingerprint)).ToJson(Style));
                continue;
            }

            events.Data(WorkerEventKind.Content, Object(
                ("object", "text_completion"), ("id", ""), ("created", Created), ("model", Model), ("system_fingerprint", SystemFingerprint), ("choices", Array(choice)),
                ("usage", Object(("prompt_tokens", generation.PromptTokens), ("completion_tokens", tokens.Count), ("total_tokens", generation.PromptTokens + tokens.Count)))).ToJson(Style));
        }

        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, tokens.Count, CachedTokens: null));
    }
}

using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// vLLM's OpenAI server, byte for byte.
/// <para>
/// Chat: <c>vllm-project/vllm</c> <c>vllm/entrypoints/openai/chat_completion/serving.py@006c49d485f9ca479bf4989cbb694d0ac02f44b5</c>
/// (<c>chat_completion_stream_generator</c>) with the field order of
/// <c>chat_completion/protocol.py@002032ee2b18e1f7bd924ec47b62504ba3866063</c>. Every chunk is
/// <c>model_dump_json(exclude_unset=True)</c>, compact: a field is written when the code passed it, even as
/// <c>None</c>. So the role chunk carries <c>"prompt_token_ids":null,"prompt_text":null</c>, every later choice
/// <c>"token_ids":null</c>, the finishing choice <c>"stop_reason":null</c>, and no chunk carries
/// <c>"usage"</c> unless <c>continuous_usage_stats</c> is on (then the running count of that chunk's own
/// choice, with <c>"completion_tokens_details":null</c>; UsageInfo's field order from
/// <c>serve/engine/protocol.py</c>: prompt, total, completion, prompt details, completion details).
/// The usage-only chunk is <c>exclude_unset=True, exclude_none=True</c>; <c>prompt_tokens_details</c> is there
/// when the server runs with <c>--enable-prompt-tokens-details</c> (modelled as
/// <see cref="Generation.CachedTokens"/> not null). <c>system_fingerprint</c> is left out: it is only written
/// when the server has one, which this builder does not model. With <c>n &gt; 1</c> each engine step yields
/// one single-choice chunk per choice, so choices interleave. A stop on EOS is its own chunk with
/// <c>"content":""</c> (the EOS token counts in <c>completion_tokens</c>); a length stop rides on the last token.
/// </para>
/// <para>
/// Errors inside the stream: <c>create_streaming_error_response</c> (<c>engine/serving.py</c>) is
/// <c>json.dumps(ErrorResponse.model_dump())</c>, Python's spacing, <c>{"error": {"message", "type", "param", "code"}}</c>,
/// written as <c>data: …</c> and followed by <c>data: [DONE]</c>.
/// </para>
/// <para>
/// Completions: <c>vllm/entrypoints/openai/serving_completion.py@00463e627b4cbe549b5e9815a2bdb0100ae88ea9</c>
/// dumps chunks with <c>exclude_unset=False</c>, so every field is written: <c>"stop_reason":null</c>,
/// <c>"prompt_token_ids"</c> (the prompt's ids on each choice's first chunk, which that commit always returns),
/// <c>"token_ids":null</c> and <c>"usage":null</c>. Field order from <c>CompletionResponseStreamChoice</c> /
/// <c>CompletionStreamResponse</c> of the protocol of that era; whether a newer <c>system_fingerprint</c> field
/// is also written was not checked.
/// </para>
/// <para>Reasoning deltas are written as <c>reasoning</c>, the field name of the protocol above (older releases wrote <c>reasoning_content</c>).</para>
/// </summary>
public sealed class VllmStream(string model, string id = VllmStream.DefaultChatId, long created = VllmStream.DefaultCreated)
{
    public const string DefaultChatId = "chatcmpl-9f0a6c3e1d2b4a5f8e7d6c5b4a3f2e1d";
    public const string DefaultCompletionId = "cmpl-4a3f2e1d9f0a6c3e1d2b4a5f8e7d6c5b";
    public const long DefaultCreated = 1730000000;

    private static readonly JsonStyle Style = JsonStyle.Compact;

    public string Model { get; } = model;

    public string Id { get; } = id;

    public long Created { get; } = created;

    /// <summary>A chat stream as vLLM writes it once <c>include_usage</c> is on (the sidecar always turns it on).</summary>
    public static WorkerStream Chat(Generation generation, bool continuousUsage = false) =>
        new VllmStream(generation.Model).ChatEvents(generation, continuousUsage, failAfterTokens: null);

    /// <summary>
    /// A chat stream the engine fails after <paramref name="tokens"/> tokens of each choice: vLLM writes its error event,
    /// then <c>[DONE]</c>, and no usage.
    /// </summary>
    public static WorkerStream ChatFailingAfter(Generation generation, int tokens) =>
        new VllmStream(generation.Model).ChatEvents(generation, continuousUsage: false, failAfterTokens: tokens);

    /// <summary>A <c>/v1/completions</c> stream with <c>include_usage</c> on.</summary>
    public static WorkerStream Completions(Generation generation, bool continuousUsage = false)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null, "vLLM completions", "reasoning or a tool call");
        var vllm = new VllmStream(generation.Model, DefaultCompletionId);
        var events = new EventList();
        var promptIds = Enumerable.Range(1, generation.PromptTokens).ToArray();
        for (var step = 0; step < generation.Tokens.Count; step++)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                var last = step == generation.Tokens.Count - 1;
                var usage = continuousUsage ? CompletionsUsage(generation.PromptTokens, step + 1) : null;
                events.Data(WorkerEventKind.Content, vllm.TextChunk(
                    generation.Tokens[step], choice, last ? generation.FinishReason : null, step == 0 ? promptIds : null, usage));
            }
        }

        events.Data(WorkerEventKind.UsageOnly, vllm.TextUsageOnly(generation.PromptTokens, generation.Tokens.Count * generation.Choices, generation.CachedTokens));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, generation.Tokens.Count * generation.Choices, generation.CachedTokens));
    }

    /// <summary>
    /// The non-streaming chat answer: <c>ChatCompletionResponse.model_dump()</c> (every field, nulls included) in a
    /// Starlette <c>JSONResponse</c> (compact, UTF-8). That the router answers through <c>model_dump()</c> rather
    /// than <c>model_dump_json()</c> was not checked; both write the same bytes for these fields.
    /// </summary>
    public static string ChatUnary(Generation generation)
    {
        var choices = Enumerable.Range(0, generation.Choices).Select(i => Object(
            ("index", i),
            ("message", Object(
                ("role", "assistant"),
                ("content", string.Concat(generation.Tokens)),
                ("refusal", null),
                ("annotations", null),
                ("audio", null),
                ("function_call", null),
                ("reasoning", generation.Reasoning.Count > 0 ? string.Concat(generation.Reasoning) : null))),
            ("logprobs", null),
            ("finish_reason", generation.FinishReason),
            ("stop_reason", null),
            ("token_ids", null),
            ("routed_experts", null)));
        return Object(
            ("id", DefaultChatId),
            ("object", "chat.completion"),
            ("created", DefaultCreated),
            ("model", generation.Model),
            ("choices", choices.ToArray()),
            ("service_tier", null),
            ("system_fingerprint", null),
            ("usage", UnaryUsage(generation.PromptTokens, generation.CompletionTokens + EosTokens(generation), generation.CachedTokens)),
            ("prompt_logprobs", null),
            ("prompt_token_ids", null),
            ("prompt_text", null),
            ("kv_transfer_params", null),
            ("ec_transfer_params", null),
            ("metrics", null)).ToJson(Style);
    }

    /// <summary>The error event vLLM writes when generation fails mid-stream (<c>GenerationError</c> → 500).</summary>
    public static string Error(string message, string type = "InternalServerError", int code = 500) =>
        Object(("error", Object(("message", message), ("type", type), ("param", null), ("code", code)))).ToJson(JsonStyle.PythonDumps);

    /// <summary>The running usage of a <c>continuous_usage_stats</c> chat chunk.</summary>
    public string Usage(long prompt, long completion, long? cached = null) =>
        (cached is null
            ? Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("completion_tokens_details", null))
            : UsageObject(prompt, completion, cached)).ToJson(Style);

    /// <summary>One chat choice: <paramref name="deltaJson"/> is the delta object as written.</summary>
    public static string Choice(int index, string deltaJson, string? finishReason = null) =>
        (finishReason is null
            ? Object(("index", index), ("delta", new RawJson(deltaJson)), ("logprobs", null), ("finish_reason", null), ("token_ids", null))
            : Object(("index", index), ("delta", new RawJson(deltaJson)), ("logprobs", null), ("finish_reason", finishReason), ("stop_reason", null), ("token_ids", null))).ToJson(Style);

    /// <summary>The first chunk of a choice: its role and an empty content.</summary>
    public string Role(string? usage = null, int index = 0) => ChunkOf(
        "[" + Object(("index", index), ("delta", Object(("role", "assistant"), ("content", ""))), ("logprobs", null), ("finish_reason", null)).ToJson(Style) + "]",
        usage, firstChunk: true);

    public string Content(string text, int index = 0, string? usage = null) => Delta(Object(("content", text)).ToJson(Style), index, usage);

    /// <summary>A chunk whose choice carries <paramref name="deltaJson"/> and no finish.</summary>
    public string Delta(string deltaJson, int index = 0, string? usage = null) => Chunk("[" + Choice(index, deltaJson) + "]", usage);

    /// <summary>The chunk of the EOS token: an empty content and the finish reason.</summary>
    public string Finish(int index = 0, string reason = "stop", string? usage = null) =>
        Chunk("[" + Choice(index, """{"content":""}""", reason) + "]", usage);

    /// <summary>The chunk <c>include_usage</c> adds at the end: no choices, the request's usage.</summary>
    public string UsageOnly(long prompt, long completion, long? cached = null) =>
        Chunk("[]", UsageObject(prompt, completion, cached).ToJson(Style));

    /// <summary>A chat chunk around <paramref name="choicesJson"/>; <paramref name="usage"/> is the usage object as written.</summary>
    public string Chunk(string choicesJson, string? usage = null) => ChunkOf(choicesJson, usage, firstChunk: false);

    /// <summary>A <c>/v1/completions</c> chunk (every field written).</summary>
    public string TextChunk(string text, int index = 0, string? finishReason = null, int[]? promptTokenIds = null, string? usage = null) =>
        Object(
            ("id", Id),
            ("object", "text_completion"),
            ("created", Created),
            ("model", Model),
            ("choices", Array(TextChoiceObject(index, text, finishReason, promptTokenIds))),
            ("usage", usage is null ? null : new RawJson(usage))).ToJson(Style);

    /// <summary>The usage-only chunk of a completions stream (<c>exclude_unset=False, exclude_none=True</c>).</summary>
    public string TextUsageOnly(long prompt, long completion, long? cached = null) =>
        Object(("id", Id), ("object", "text_completion"), ("created", Created), ("model", Model), ("choices", Array()),
            ("usage", cached is null or 0
                ? Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion))
                : UsageObject(prompt, completion, cached))).ToJson(Style);

    /// <summary>One completions choice as written in a stream.</summary>
    public static string TextChoice(int index, string text, string? finishReason = null) => TextChoiceObject(index, text, finishReason, null).ToJson(Style);

    private static OrderedJsonObject TextChoiceObject(int index, string text, string? finishReason, int[]? promptTokenIds) => Object(
        ("index", index),
        ("text", text),
        ("logprobs", null),
        ("finish_reason", finishReason),
        ("stop_reason", null),
        ("prompt_token_ids", promptTokenIds),
        ("token_ids", null));

    // exclude_unset=False writes the whole UsageInfo of that commit: prompt, total, completion, prompt details.
    private static string CompletionsUsage(long prompt, long completion) =>
        Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", null)).ToJson(Style);

    private static OrderedJsonObject UsageObject(long prompt, long completion, long? cached) => cached is null
        ? Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion))
        : Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", Object(("cached_tokens", cached))));

    private static OrderedJsonObject UnaryUsage(long prompt, long completion, long? cached) => Object(
        ("prompt_tokens", prompt),
        ("total_tokens", prompt + completion),
        ("completion_tokens", completion),
        ("prompt_tokens_details", cached is null ? null : Object(("cached_tokens", cached), ("created_cache_tokens", null), ("multimodal_tokens", null))),
        ("completion_tokens_details", null));

    private static int EosTokens(Generation generation) => generation.FinishReason == "stop" ? generation.Choices : 0;

    private string ChunkOf(string choicesJson, string? usage, bool firstChunk)
    {
        var members = new List<(string, object?)>
        {
            ("id", Id), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", new RawJson(choicesJson)),
        };
        if (usage is not null)
        {
            members.Add(("usage", new RawJson(usage)));
        }

        if (firstChunk)
        {
            members.Add(("prompt_token_ids", null));
            members.Add(("prompt_text", null));
        }

        return new OrderedJsonObject([.. members]).ToJson(Style);
    }

    private WorkerStream ChatEvents(Generation generation, bool continuousUsage, int? failAfterTokens)
    {
        var events = new EventList();
        var prompt = generation.PromptTokens;
        for (var choice = 0; choice < generation.Choices; choice++)
        {
            events.Data(WorkerEventKind.Role, Role(continuousUsage ? Usage(prompt, 0) : null, choice));
        }

        var deltas = Deltas(generation);
        var eos = generation.FinishReason == "stop";
        for (var step = 0; step < deltas.Count; step++)
        {
            if (step == failAfterTokens)
            {
                events.Data(WorkerEventKind.Error, Error("Internal server error"));
                events.Done();
                return new WorkerStream(events, usage: null);
            }

            for (var choice = 0; choice < generation.Choices; choice++)
            {
                var finish = !eos && step == deltas.Count - 1 ? FinishReasonOf(generation) : null;
                var usage = continuousUsage ? Usage(prompt, step + 1) : null;
                events.Data(WorkerEventKind.Content, Chunk("[" + Choice(choice, deltas[step], finish) + "]", usage));
            }
        }

        if (eos)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                events.Data(WorkerEventKind.Finish, Finish(choice, FinishReasonOf(generation), continuousUsage ? Usage(prompt, deltas.Count + 1) : null));
            }
        }

        var completion = generation.CompletionTokens + EosTokens(generation);
        events.Data(WorkerEventKind.UsageOnly, UsageOnly(prompt, completion, generation.CachedTokens));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(prompt, completion, generation.CachedTokens));
    }

    private static string FinishReasonOf(Generation generation) => generation.Tool is not null && generation.FinishReason == "stop" ? "tool_calls" : generation.FinishReason;

    // One delta per decode step of a choice: reasoning, then content, then the tool call (hermes-style: the name, then the arguments).
    private static List<string> Deltas(Generation generation)
    {
        var deltas = new List<string>();
        deltas.AddRange(generation.Reasoning.Select(r => Object(("reasoning", r)).ToJson(Style)));
        deltas.AddRange(generation.Tokens.Select(t => Object(("content", t)).ToJson(Style)));
        if (generation.Tool is { } tool)
        {
            deltas.Add(Object(("tool_calls", Array(Object(("id", tool.Id), ("type", "function"), ("index", 0), ("function", Object(("name", tool.Name))))))).ToJson(Style));
            deltas.AddRange(tool.ArgumentPieces.Select(piece =>
                Object(("tool_calls", Array(Object(("index", 0), ("function", Object(("arguments", piece))))))).ToJson(Style)));
        }

        return deltas;
    }
}

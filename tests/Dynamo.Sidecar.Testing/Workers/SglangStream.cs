using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// SGLang's OpenAI server, byte for byte.
/// <para>
/// Chat: <c>sgl-project/sglang</c> <c>python/sglang/srt/entrypoints/openai/serving_chat.py@002897c23becbd522d88b8115a763a21765f978a</c>.
/// Role, content and reasoning chunks go through <c>build_sse_content</c>
/// (<c>sse_utils.py@affabe0df341754053a525087efc64565a9c1604</c>): msgspec, compact. The chunk omits
/// <c>usage</c> when it has none (<c>omit_defaults</c>); the choice always writes <c>logprobs</c>,
/// <c>finish_reason</c> and <c>matched_stop</c>; the delta always writes <c>reasoning_content</c> (null when
/// absent, so clients can read it) and only the <c>role</c>/<c>content</c> it has. The role chunk comes
/// right before a choice's first content. Finish reasons are sent after generation, one chunk per choice,
/// with an empty delta and <c>matched_stop</c> (the EOS id on a stop, modelled as 151645, Qwen's
/// <c>&lt;|im_end|&gt;</c>). With <c>continuous_usage_stats</c>, each content chunk carries its own choice's
/// running <c>UsageInfo.model_dump()</c>: prompt, total, completion, <c>prompt_tokens_details</c> (null) and
/// <c>reasoning_tokens</c>. The usage-only chunk is pydantic <c>model_dump_json()</c> (nulls written, the
/// <c>sglext</c> field dropped by its serializer); <c>prompt_tokens_details</c> is
/// <c>{"cached_tokens":N}</c> with <c>--enable-cache-report</c> (modelled as <see cref="Generation.CachedTokens"/>).
/// </para>
/// <para>
/// Completions: <c>serving_completions.py@004c82e07d876f6e4a0ad6e15325706b0f478f1a</c>, every chunk
/// <c>model_dump_json()</c> (so <c>"usage":null</c>), the finish on the last token's chunk, the usage chunk
/// <c>model_dump_json(exclude_none=True)</c>. Field order from <c>protocol.py@004c82e0</c>.
/// </para>
/// <para>
/// An abort with a status code mid-stream (timeout, OOM) writes <c>create_streaming_error_response(message, code.name, code.value)</c>
/// and leaves the loop; the usage chunk and <c>[DONE]</c> still follow. The error body is taken from the
/// older <c>openai_api/adapter.py</c> (<c>json.dumps({"error": ErrorResponse.model_dump()})</c>, Python spacing,
/// <c>ErrorResponse</c> = object, message, type, param, code); that <c>serving_base.py</c> still writes it so
/// was not checked. Tool-call chunks (pydantic <c>DeltaMessage</c>) are not modelled.
/// </para>
/// </summary>
public sealed class SglangStream(string model, string id = SglangStream.DefaultId, long created = SglangStream.DefaultCreated)
{
    public const string DefaultId = "3f6c2a9e8b7d4c1fa0e5d2b8c7f6a1e4";
    public const long DefaultCreated = 1730000000;
    public const int EosTokenId = 151645;

    private static readonly JsonStyle Style = JsonStyle.Compact;

    public string Model { get; } = model;

    public string Id { get; } = id;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation, bool continuousUsage = false) =>
        new SglangStream(generation.Model).ChatEvents(generation, continuousUsage, abortAfterTokens: null);

    /// <summary>A chat stream the scheduler aborts with HTTP 500 after <paramref name="tokens"/> tokens of each choice.</summary>
    public static WorkerStream ChatAbortedAfter(Generation generation, int tokens) =>
        new SglangStream(generation.Model).ChatEvents(generation, continuousUsage: false, abortAfterTokens: tokens);

    public static WorkerStream Completions(Generation generation, bool continuousUsage = false)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null, "SGLang completions", "reasoning or a tool call");
        var sglang = new SglangStream(generation.Model);
        var events = new EventList();
        for (var step = 0; step < generation.Tokens.Count; step++)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                var last = step == generation.Tokens.Count - 1;
                events.Data(WorkerEventKind.Content, Object(
                    ("id", sglang.Id),
                    ("object", "text_completion"),
                    ("created", sglang.Created),
                    ("model", sglang.Model),
                    ("choices", Array(Object(
                        ("index", choice),
                        ("text", generation.Tokens[step]),
                        ("logprobs", null),
                        ("finish_reason", last ? generation.FinishReason : null),
                        ("matched_stop", last ? MatchedStop(generation) : null)))),
                    ("usage", continuousUsage ? RunningUsage(generation.PromptTokens, step + 1) : null)).ToJson(Style));
            }
        }

        var completion = generation.Tokens.Count * generation.Choices;
        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", sglang.Id), ("object", "text_completion"), ("created", sglang.Created), ("model", sglang.Model), ("choices", Array()),
            ("usage", FinalUsage(generation.PromptTokens, completion, generation.CachedTokens, writeNullDetails: false))).ToJson(Style));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, completion, generation.CachedTokens));
    }

    /// <summary>The error event of a mid-stream abort (Python <c>json.dumps</c>).</summary>
    public static string Error(string message, string type, int code) =>
        Object(("error", Object(("object", "error"), ("message", message), ("type", type), ("param", null), ("code", code)))).ToJson(JsonStyle.PythonDumps);

    private static object? MatchedStop(Generation generation) => generation.FinishReason == "stop" ? EosTokenId : null;

    private static OrderedJsonObject RunningUsage(long prompt, long completion) => Object(
        ("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", null), ("reasoning_tokens", 0));

    private static OrderedJsonObject FinalUsage(long prompt, long completion, long? cached, bool writeNullDetails)
    {
        var details = cached is null ? null : Object(("cached_tokens", cached));
        return details is null && !writeNullDetails
            ? Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("reasoning_tokens", 0))
            : Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", details), ("reasoning_tokens", 0));
    }

    private string StreamChunk(int index, OrderedJsonObject delta, string? finishReason, object? matchedStop, OrderedJsonObject? usage)
    {
        var chunk = new List<(string, object?)>
        {
            ("id", Id), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model),
            ("choices", Array(Object(("index", index), ("delta", delta), ("logprobs", null), ("finish_reason", finishReason), ("matched_stop", matchedStop)))),
        };
        if (usage is not null)
        {
            chunk.Add(("usage", usage));
        }

        return new OrderedJsonObject([.. chunk]).ToJson(Style);
    }

    private WorkerStream ChatEvents(Generation generation, bool continuousUsage, int? abortAfterTokens)
    {
        Modelled.Require(generation.Tool is null, "SGLang", "a tool call");
        var events = new EventList();
        var steps = new List<OrderedJsonObject>();
        steps.AddRange(generation.Reasoning.Select(r => Object(("reasoning_content", r))));
        steps.AddRange(generation.Tokens.Select(t => Object(("reasoning_content", null), ("content", t))));
        var prompt = generation.PromptTokens;
        var aborted = false;
        for (var step = 0; step < steps.Count && !aborted; step++)
        {
            if (step == abortAfterTokens)
            {
                events.Data(WorkerEventKind.Error, Error("Generation aborted.", "INTERNAL_SERVER_ERROR", 500));
                aborted = true;
                break;
            }

            for (var choice = 0; choice < generation.Choices; choice++)
            {
                if (step == 0)
                {
                    events.Data(WorkerEventKind.Role, StreamChunk(choice, Object(("reasoning_content", null), ("role", "assistant"), ("content", "")), null, null, null));
                }

                events.Data(WorkerEventKind.Content, StreamChunk(choice, steps[step], null, null, continuousUsage ? RunningUsage(prompt, step + 1) : null));
            }
        }

        var streamed = (aborted ? abortAfterTokens!.Value : steps.Count) * generation.Choices;
        if (!aborted)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                events.Data(WorkerEventKind.Finish, StreamChunk(choice, Object(("reasoning_content", null)), generation.FinishReason, MatchedStop(generation), null));
            }
        }

        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", Id), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", Array()),
            ("usage", FinalUsage(prompt, streamed, generation.CachedTokens, writeNullDetails: true))).ToJson(Style));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(prompt, streamed, generation.CachedTokens));
    }
}

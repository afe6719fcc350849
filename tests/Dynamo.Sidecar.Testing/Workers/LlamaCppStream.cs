using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// llama.cpp's <c>llama-server</c>, byte for byte.
/// <para>
/// <c>ggml-org/llama.cpp</c> <c>tools/server/server-task.cpp@00efb3e184262872916bf136b3df63c1822a19bd</c>
/// (<c>server_task_result_cmpl_partial::to_json_oaicompat_chat</c> / <c>to_json_oaicompat</c> /
/// <c>to_json_anthropic</c>, <c>server_task_result_cmpl_final::to_json_oaicompat_chat_stream</c> /
/// <c>to_json_oaicompat</c> / <c>to_json_anthropic_stream</c>, <c>result_timings::to_json</c>),
/// <c>common_chat_msg_diff_to_json_oaicompat</c> in <c>common/chat.cpp</c>, and <c>format_oai_sse</c> /
/// <c>format_anthropic_sse</c> / <c>format_error_response</c> in <c>tools/server/server-common.cpp</c>.
/// JSON is <c>nlohmann::ordered_json</c> dumped compact, keys in the order the code lists them:
/// <c>choices</c> first, <c>object</c> after <c>system_fingerprint</c>.
/// </para>
/// <para>
/// Chat: the first token of each choice writes a role chunk (<c>{"role":"assistant","content":null}</c>) and its
/// own diff chunk; each choice ends with a finish chunk (<c>"delta":{}</c>) and, with <c>include_usage</c>, its own
/// usage-only chunk (its <c>n_decoded</c> and the prompt) carrying <c>timings</c>; so <c>n &gt; 1</c> sends one usage
/// chunk per choice. <c>data: [DONE]</c> ends the stream. Cache hits are reported only in <c>timings.cache_n</c>.
/// </para>
/// <para>
/// Completions: unfinished chunks carry the text and <c>"finish_reason":null</c>; the final chunk of each
/// choice has an empty text, the finish reason, <c>usage</c> (always, not only with <c>include_usage</c>) and
/// <c>timings</c>, so no chunk is usage-only.
/// </para>
/// <para>
/// An error mid-stream is <c>data: {"error":{"code":…,"message":…,"type":…}}</c>, after which the server ends
/// the stream; that no <c>[DONE]</c> follows it is from <c>handle_completions_impl</c> as remembered, not
/// re-read at this commit. <c>build_info</c> is <c>b{build}-{commit}</c>. The completions id is written with the chat
/// id's <c>chatcmpl-</c> prefix (<c>gen_chatcmplid</c>); which generator <c>/v1/completions</c> uses was not checked.
/// </para>
/// </summary>
public sealed class LlamaCppStream(string model, string id = LlamaCppStream.DefaultId, long created = LlamaCppStream.DefaultCreated)
{
    public const string DefaultId = "chatcmpl-Rk3sT9vWx2Yz4Ab6Cd8Ef0Gh";
    public const long DefaultCreated = 1730000000;
    public const string BuildInfo = "b6610-00efb3e1";

    private static readonly JsonStyle Style = JsonStyle.Compact;

    public string Model { get; } = model;

    public string Id { get; } = id;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation) => new LlamaCppStream(generation.Model).ChatEvents(generation, failAfterTokens: null);

    /// <summary>A chat stream whose slot fails after <paramref name="tokens"/> tokens: the error event, then the end of the body.</summary>
    public static WorkerStream ChatFailingAfter(Generation generation, int tokens) => new LlamaCppStream(generation.Model).ChatEvents(generation, tokens);

    public static WorkerStream Completions(Generation generation)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null, "llama.cpp completions", "reasoning or a tool call");
        var llama = new LlamaCppStream(generation.Model);
        var events = new EventList();
        for (var step = 0; step < generation.Tokens.Count; step++)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                events.Data(WorkerEventKind.Content, Object(
                    ("choices", Array(Object(("text", generation.Tokens[step]), ("index", choice), ("logprobs", null), ("finish_reason", null)))),
                    ("created", llama.Created), ("model", llama.Model), ("system_fingerprint", BuildInfo), ("object", "text_completion"), ("id", llama.Id)).ToJson(Style));
            }
        }

        var perChoice = generation.Tokens.Count;
        for (var choice = 0; choice < generation.Choices; choice++)
        {
            events.Data(WorkerEventKind.Finish, Object(
                ("choices", Array(Object(("text", ""), ("index", choice), ("logprobs", null), ("finish_reason", generation.FinishReason)))),
                ("created", llama.Created), ("model", llama.Model), ("system_fingerprint", BuildInfo), ("object", "text_completion"),
                ("usage", Usage(generation.PromptTokens, perChoice)), ("id", llama.Id), ("timings", Timings(generation, perChoice))).ToJson(Style));
        }

        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, perChoice * generation.Choices, CachedTokens: null));
    }

    /// <summary>A non-streaming chat answer (<c>to_json_oaicompat_chat</c>), one choice.</summary>
    public static string ChatUnary(Generation generation)
    {
        var perChoice = generation.TokensPerChoice;
        return Object(
            ("choices", Array(Object(("finish_reason", generation.FinishReason), ("index", 0), ("message", Object(("role", "assistant"), ("content", string.Concat(generation.Tokens))))))),
            ("created", DefaultCreated), ("model", generation.Model), ("system_fingerprint", BuildInfo), ("object", "chat.completion"),
            ("usage", Usage(generation.PromptTokens, perChoice)), ("id", DefaultId), ("timings", Timings(generation, perChoice))).ToJson(Style);
    }

    /// <summary>The error event of a failed slot (<c>format_error_response</c>, <c>ERROR_TYPE_SERVER</c>).</summary>
    public static string Error(string message, string type = "server_error", int code = 500) =>
        Object(("error", Object(("code", code), ("message", message), ("type", type)))).ToJson(Style);

    private static OrderedJsonObject Usage(long prompt, long completion) =>
        Object(("completion_tokens", completion), ("prompt_tokens", prompt), ("total_tokens", completion + prompt));

    // Whole-number milliseconds keep nlohmann's shortest form predictable (it prints 0.5 as 0.5, 2000 as 2000.0).
    private static OrderedJsonObject Timings(Generation generation, int predicted)
    {
        var cached = generation.CachedTokens ?? 0;
        var evaluated = generation.PromptTokens - cached;
        return Object(
            ("cache_n", cached),
            ("prompt_n", evaluated),
            ("prompt_ms", evaluated * 0.5),
            ("prompt_per_token_ms", 0.5),
            ("prompt_per_second", 2000.0),
            ("predicted_n", predicted),
            ("predicted_ms", predicted * 4.0),
            ("predicted_per_token_ms", 4.0),
            ("predicted_per_second", 250.0));
    }

    private string ChatChunk(int index, OrderedJsonObject delta, string? finishReason) => Object(
        ("choices", Array(Object(("finish_reason", finishReason), ("index", index), ("delta", delta)))),
        ("created", Created), ("id", Id), ("model", Model), ("system_fingerprint", BuildInfo), ("object", "chat.completion.chunk")).ToJson(Style);

    private WorkerStream ChatEvents(Generation generation, int? failAfterTokens)
    {
        var events = new EventList();
        var diffs = new List<OrderedJsonObject>();
        diffs.AddRange(generation.Reasoning.Select(r => Object(("reasoning_content", r))));
        diffs.AddRange(generation.Tokens.Select(t => Object(("content", t))));
        if (generation.Tool is { } tool)
        {
            diffs.Add(Object(("tool_calls", Array(Object(("index", 0), ("id", tool.Id), ("type", "function"), ("function", Object(("name", tool.Name), ("arguments", ""))))))));
            diffs.AddRange(tool.ArgumentPieces.Select(piece => Object(("tool_calls", Array(Object(("index", 0), ("function", Object(("arguments", piece)))))))));
        }

        for (var step = 0; step < diffs.Count; step++)
        {
            if (step == failAfterTokens)
            {
                events.Data(WorkerEventKind.Error, Error("Context size has been exceeded."));
                return new WorkerStream(events, usage: null);
            }

            for (var choice = 0; choice < generation.Choices; choice++)
            {
                if (step == 0)
                {
                    events.Data(WorkerEventKind.Role, ChatChunk(choice, Object(("role", "assistant"), ("content", null)), null));
                }

                events.Data(WorkerEventKind.Content, ChatChunk(choice, diffs[step], null));
            }
        }

        var finish = generation.Tool is not null && generation.FinishReason == "stop" ? "tool_calls" : generation.FinishReason;
        var perChoice = diffs.Count;
        for (var choice = 0; choice < generation.Choices; choice++)
        {
            events.Data(WorkerEventKind.Finish, ChatChunk(choice, Object(), finish));
            events.Data(WorkerEventKind.UsageOnly, Object(
                ("choices", Array()), ("created", Created), ("id", Id), ("model", Model), ("system_fingerprint", BuildInfo), ("object", "chat.completion.chunk"),
                ("usage", Usage(generation.PromptTokens, perChoice)), ("timings", Timings(generation, perChoice))).ToJson(Style));
        }

        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, perChoice * generation.Choices, CachedTokens: null));
    }
}

using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// LMDeploy's <c>api_server</c>, byte for byte.
/// <para>
/// <c>InternLM/lmdeploy</c> at <c>1263d5cd889b7ad500e85b8eb20401327a4516ab</c>:
/// <c>lmdeploy/serve/openai/chat_completions/serving.py</c> (<c>create_stream_response_json</c>,
/// <c>_completion_stream_generator</c>), <c>lmdeploy/serve/openai/endpoints/completions.py</c>, the models of
/// <c>lmdeploy/serve/openai/protocol.py</c> and <c>errors.py</c>. Content chunks are
/// <c>json.dumps(model_dump(mode='json', exclude_none=True))</c>: Python's <c>", "</c> / <c>": "</c> spacing,
/// non-ASCII escaped, no <c>finish_reason</c> key until the last chunk, and <c>"usage": null</c> appended
/// last when <c>include_usage</c> is on. Every delta repeats <c>"role": "assistant"</c>. The chat usage chunk is
/// pydantic <c>model_dump_json(exclude_none=True)</c>, compact, and always has
/// <c>prompt_tokens_details.cached_tokens</c> (<c>UsageInfo.build</c>); the completions usage chunk is
/// <c>json.dumps</c> again, without details (its <c>UsageInfo()</c> is summed by hand).
/// </para>
/// <para>
/// A <c>RequestError</c> mid-stream is <c>data: {json.dumps({"error": request_error_payload(e)})}</c>
/// (<c>ErrorResponse</c>: message, type, code, param, object), then <c>data: [DONE]</c>. LMDeploy streams one choice.
/// </para>
/// </summary>
public sealed class LmDeployStream(string model, string chatId = LmDeployStream.DefaultChatId, long created = LmDeployStream.DefaultCreated)
{
    public const string DefaultChatId = "chatcmpl-5NnWbTqE6hZkRz2dVyXcJa";
    public const string DefaultCompletionId = "1";
    public const long DefaultCreated = 1730000000;

    public string Model { get; } = model;

    public string ChatId { get; } = chatId;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation) => new LmDeployStream(generation.Model).ChatEvents(generation, failAfterTokens: null);

    /// <summary>A chat stream that fails with an engine error (HTTP 500) after <paramref name="tokens"/> tokens.</summary>
    public static WorkerStream ChatFailingAfter(Generation generation, int tokens) => new LmDeployStream(generation.Model).ChatEvents(generation, tokens);

    public static WorkerStream Completions(Generation generation)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null && generation.Choices == 1, "LMDeploy completions", "reasoning, a tool call or n > 1");
        var lmdeploy = new LmDeployStream(generation.Model);
        var events = new EventList();
        for (var step = 0; step < generation.Tokens.Count; step++)
        {
            var choice = step == generation.Tokens.Count - 1
                ? Object(("index", 0), ("text", generation.Tokens[step]), ("finish_reason", generation.FinishReason))
                : Object(("index", 0), ("text", generation.Tokens[step]));
            events.Data(WorkerEventKind.Content, Object(
                ("id", DefaultCompletionId), ("object", "text_completion"), ("created", lmdeploy.Created), ("model", lmdeploy.Model), ("choices", Array(choice)), ("usage", null))
                .ToJson(JsonStyle.PythonDumps));
        }

        var completion = generation.Tokens.Count;
        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", DefaultCompletionId), ("object", "text_completion"), ("created", lmdeploy.Created), ("model", lmdeploy.Model), ("choices", Array()),
            ("usage", Object(("prompt_tokens", generation.PromptTokens), ("total_tokens", generation.PromptTokens + completion), ("completion_tokens", completion))))
            .ToJson(JsonStyle.PythonDumps));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, completion, CachedTokens: null));
    }

    /// <summary>The error event of a request that fails mid-stream.</summary>
    public static string Error(string message, string type = "server_error", int code = 500) =>
        Object(("error", Object(("message", message), ("type", type), ("code", code), ("param", null), ("object", "error")))).ToJson(JsonStyle.PythonDumps);

    private WorkerStream ChatEvents(Generation generation, int? failAfterTokens)
    {
        Modelled.Require(generation.Tool is null && generation.Choices == 1, "LMDeploy", "a tool call or n > 1");
        var events = new EventList();
        var deltas = new List<OrderedJsonObject>();
        deltas.AddRange(generation.Reasoning.Select(r => Object(("role", "assistant"), ("reasoning_content", r))));
        deltas.AddRange(generation.Tokens.Select(t => Object(("role", "assistant"), ("content", t))));
        for (var step = 0; step < deltas.Count; step++)
        {
            if (step == failAfterTokens)
            {
                events.Data(WorkerEventKind.Error, Error("Internal error."));
                events.Done();
                return new WorkerStream(events, usage: null);
            }

            var choice = step == deltas.Count - 1
                ? Object(("index", 0), ("delta", deltas[step]), ("finish_reason", generation.FinishReason))
                : Object(("index", 0), ("delta", deltas[step]));
            events.Data(WorkerEventKind.Content, Object(
                ("id", ChatId), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", Array(choice)), ("usage", null))
                .ToJson(JsonStyle.PythonDumps));
        }

        var prompt = generation.PromptTokens;
        var completion = deltas.Count;
        var cached = generation.CachedTokens ?? 0;
        var usage = generation.Reasoning.Count > 0
            ? Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion),
                ("prompt_tokens_details", Object(("cached_tokens", cached))), ("completion_tokens_details", Object(("reasoning_tokens", generation.Reasoning.Count))))
            : Object(("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", Object(("cached_tokens", cached))));
        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", ChatId), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", Array()), ("usage", usage)).ToJson(JsonStyle.Compact));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(prompt, completion, cached));
    }
}

using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// TensorRT-LLM's <c>trtllm-serve</c>, byte for byte.
/// <para>
/// <c>NVIDIA/TensorRT-LLM</c> <c>tensorrt_llm/serve/postprocess_handlers.py@01bf19231d29d8f0766e31c117d1cf39ed00d3d5</c>
/// (<c>chat_stream_post_processor</c>, <c>completion_stream_post_processor</c>) with the models of
/// <c>tensorrt_llm/serve/openai_protocol.py@0076e9390e1ed11515f149eec356f5a03f4a00d8</c>.
/// Chat chunks are <c>model_dump_json(exclude_none=True)</c>: the role chunk is <c>"delta":{"role":"assistant"}</c>
/// and is written as <c>f"data: {data} \n\n"</c>, with a space before the blank line; every later delta writes
/// <c>"content"</c> and <c>"reasoning_content"</c> even when empty (<c>""</c> is not <c>None</c>); the finish reason
/// rides on the last token's chunk. The usage-only chunk is a plain <c>model_dump_json()</c>, and its usage
/// always carries <c>prompt_tokens_details.cached_tokens</c> (0 without prefix reuse). With
/// <c>continuous_usage_stats</c>, each chunk carries its own choice's running usage (<c>output.length</c>).
/// Completions chunks are <c>exclude_unset=False</c>: every field, <c>"usage":null</c> included.
/// </para>
/// <para>
/// <c>data: [DONE]</c> is written by <c>openai_server.py</c>, which was not read; errors inside the stream are not modelled.
/// </para>
/// </summary>
public sealed class TrtLlmStream(string model, string id = TrtLlmStream.DefaultChatId, long created = TrtLlmStream.DefaultCreated)
{
    public const string DefaultChatId = "chatcmpl-2b9d4f6a8c0e1f3a5b7c9d1e3f5a7b9c";
    public const string DefaultCompletionId = "cmpl-7c5a3e1f9d7b5a3c1e9f7d5b3a1c9e7f";
    public const long DefaultCreated = 1730000000;

    private static readonly JsonStyle Style = JsonStyle.Compact;

    public string Model { get; } = model;

    public string Id { get; } = id;

    public long Created { get; } = created;

    public static WorkerStream Chat(Generation generation, bool continuousUsage = false)
    {
        var trt = new TrtLlmStream(generation.Model);
        var events = new List<WorkerEvent>();
        var prompt = generation.PromptTokens;
        var cached = generation.CachedTokens ?? 0;
        for (var choice = 0; choice < generation.Choices; choice++)
        {
            var role = trt.Chunk(Object(("index", choice), ("delta", Object(("role", "assistant")))), continuousUsage ? Usage(prompt, 0, cached) : null);
            events.Add(new WorkerEvent(WorkerEventKind.Role, "data: " + role + " \n\n"));
        }

        var deltas = new List<OrderedJsonObject>();
        deltas.AddRange(generation.Reasoning.Select(r => Object(("content", ""), ("reasoning_content", r))));
        deltas.AddRange(generation.Tokens.Select(t => Object(("content", t), ("reasoning_content", ""))));
        if (generation.Tool is { } tool)
        {
            deltas.Add(ToolDelta(Object(("id", tool.Id), ("type", "function"), ("index", 0), ("function", Object(("name", tool.Name), ("arguments", ""))))));
            deltas.AddRange(tool.ArgumentPieces.Select(piece => ToolDelta(Object(("type", "function"), ("index", 0), ("function", Object(("arguments", piece)))))));
        }

        var finishReason = generation.Tool is not null && generation.FinishReason == "stop" ? "tool_calls" : generation.FinishReason;
        for (var step = 0; step < deltas.Count; step++)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                var choiceObject = step == deltas.Count - 1
                    ? Object(("index", choice), ("delta", deltas[step]), ("finish_reason", finishReason))
                    : Object(("index", choice), ("delta", deltas[step]));
                events.Add(new WorkerEvent(WorkerEventKind.Content, SseFrame.Event(trt.Chunk(choiceObject, continuousUsage ? Usage(prompt, step + 1, cached) : null))));
            }
        }

        var completion = generation.CompletionTokens;
        events.Add(new WorkerEvent(WorkerEventKind.UsageOnly, SseFrame.Event(Object(
            ("id", trt.Id), ("object", "chat.completion.chunk"), ("created", trt.Created), ("model", trt.Model), ("choices", Array()),
            ("usage", Usage(prompt, completion, cached))).ToJson(Style))));
        events.Add(new WorkerEvent(WorkerEventKind.Done, SseFrame.Done()));
        return new WorkerStream(events, new WorkerUsage(prompt, completion, cached));
    }

    public static WorkerStream Completions(Generation generation, bool continuousUsage = false)
    {
        Modelled.Require(generation.Reasoning.Count == 0 && generation.Tool is null, "TensorRT-LLM completions", "reasoning or a tool call");
        var trt = new TrtLlmStream(generation.Model, DefaultCompletionId);
        var events = new EventList();
        var prompt = generation.PromptTokens;
        var cached = generation.CachedTokens ?? 0;
        for (var step = 0; step < generation.Tokens.Count; step++)
        {
            for (var choice = 0; choice < generation.Choices; choice++)
            {
                var last = step == generation.Tokens.Count - 1;
                events.Data(WorkerEventKind.Content, Object(
                    ("id", trt.Id), ("object", "text_completion"), ("created", trt.Created), ("model", trt.Model),
                    ("choices", Array(Object(
                        ("index", choice),
                        ("text", generation.Tokens[step]),
                        ("token_ids", null),
                        ("logprobs", null),
                        ("finish_reason", last ? generation.FinishReason : null),
                        ("stop_reason", null),
                        ("avg_decoded_tokens_per_iter", null)))),
                    ("usage", continuousUsage ? Usage(prompt, step + 1, cached) : null)).ToJson(Style));
            }
        }

        var completion = generation.Tokens.Count * generation.Choices;
        events.Data(WorkerEventKind.UsageOnly, Object(
            ("id", trt.Id), ("object", "text_completion"), ("created", trt.Created), ("model", trt.Model), ("choices", Array()),
            ("usage", Usage(prompt, completion, cached))).ToJson(Style));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(prompt, completion, cached));
    }

    private static OrderedJsonObject ToolDelta(OrderedJsonObject toolCall) => Object(("content", ""), ("reasoning_content", ""), ("tool_calls", Array(toolCall)));

    private static OrderedJsonObject Usage(long prompt, long completion, long cached) => Object(
        ("prompt_tokens", prompt), ("total_tokens", prompt + completion), ("completion_tokens", completion), ("prompt_tokens_details", Object(("cached_tokens", cached))));

    private string Chunk(OrderedJsonObject choice, OrderedJsonObject? usage) => (usage is null
        ? Object(("id", Id), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", Array(choice)))
        : Object(("id", Id), ("object", "chat.completion.chunk"), ("created", Created), ("model", Model), ("choices", Array(choice)), ("usage", usage))).ToJson(Style);
}

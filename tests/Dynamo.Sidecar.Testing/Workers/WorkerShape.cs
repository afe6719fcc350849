namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>One worker family's stream on one endpoint, with the streaming request a client sends for it.</summary>
/// <param name="Name">The family and endpoint, e.g. <c>vLLM chat</c>.</param>
/// <param name="Path">The request path.</param>
/// <param name="Endpoint">The <c>endpoint</c> label the sidecar must use (SPEC §1.2).</param>
/// <param name="RequestBody">A streaming request that does not ask for usage.</param>
/// <param name="Stream">What the worker answers.</param>
public sealed record WorkerShape(string Name, string Path, string Endpoint, string RequestBody, WorkerStream Stream)
{
    /// <summary>The generation every normal stream below carries: five tokens, 42 prompt tokens, 16 of them cached.</summary>
    public static Generation Generation(string model) => new(model, [" The", " sky", " is", " blue", "."], PromptTokens: 42, CachedTokens: 16);

    /// <summary>A normal, successful stream of every family on every endpoint it serves, plus reasoning and tool-call streams where the worker writes them.</summary>
    public static IReadOnlyList<WorkerShape> NormalStreams(string model)
    {
        var g = Generation(model);
        var thinking = g with { Reasoning = ["Let", " me", " think"], Tool = new ToolCall("call_0a1b2c", "get_weather", ["{\"city\": ", "\"Paris\"}"]), FinishReason = "stop" };
        return
        [
            Chat("vLLM chat", VllmStream.Chat(g)),
            Chat("vLLM chat, reasoning and a tool call", VllmStream.Chat(thinking)),
            Completions("vLLM completions", VllmStream.Completions(g)),
            Chat("SGLang chat", SglangStream.Chat(g)),
            Chat("SGLang chat, reasoning", SglangStream.Chat(g with { Reasoning = ["Let", " me", " think"] })),
            Completions("SGLang completions", SglangStream.Completions(g)),
            Chat("TensorRT-LLM chat", TrtLlmStream.Chat(g)),
            Chat("TensorRT-LLM chat, reasoning and a tool call", TrtLlmStream.Chat(thinking)),
            Completions("TensorRT-LLM completions", TrtLlmStream.Completions(g)),
            Chat("TGI chat", TgiStream.Chat(g)),
            Completions("TGI completions", TgiStream.Completions(g)),
            Chat("Ollama chat", OllamaStream.Chat(g)),
            Chat("Ollama chat, reasoning and a tool call", OllamaStream.Chat(thinking)),
            Completions("Ollama completions", OllamaStream.Completions(g)),
            Chat("LMDeploy chat", LmDeployStream.Chat(g)),
            Chat("LMDeploy chat, reasoning", LmDeployStream.Chat(g with { Reasoning = ["Let", " me", " think"] })),
            Completions("LMDeploy completions", LmDeployStream.Completions(g)),
            Chat("llama.cpp chat", LlamaCppStream.Chat(g)),
            Chat("llama.cpp chat, reasoning and a tool call", LlamaCppStream.Chat(thinking)),
            Completions("llama.cpp completions", LlamaCppStream.Completions(g)),
            Messages("Anthropic messages", AnthropicStream.Messages(g)),
            Messages("Anthropic messages, thinking and a tool call", AnthropicStream.Messages(thinking)),
            Messages("vLLM messages", AnthropicStream.Vllm(g)),
            Messages("SGLang messages, reasoning", AnthropicStream.Sglang(g with { Reasoning = ["Let", " me", " think"] })),
            Messages("llama.cpp messages", AnthropicStream.LlamaCpp(thinking)),
        ];

        WorkerShape Chat(string name, WorkerStream stream) => ChatShape(model, name, stream);

        WorkerShape Completions(string name, WorkerStream stream) => new(name, "/v1/completions", "completions",
            $$"""{"model":"{{model}}","prompt":"The weather in Paris is","max_tokens":5,"stream":true}""", stream);

        WorkerShape Messages(string name, WorkerStream stream) => new(name, "/v1/messages", "anthropic_messages",
            $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"What is the weather in Paris?"}],"stream":true}""", stream);
    }

    /// <summary>
    /// Chat streams a worker fails inside its 200 stream after two of four tokens, each with the <c>error_type</c> its
    /// error names (SPEC §2): vLLM's <c>{"error": {..., "code": 500}}</c> then <c>[DONE]</c> is internal, TGI's
    /// <c>{"error":{"message":...,"http_status_code":422}}</c> then <c>[DONE]</c> is validation.
    /// </summary>
    public static IReadOnlyList<(WorkerShape Shape, string ErrorType)> StreamErrors(string model)
    {
        var g = new Generation(model, [" a", " b", " c", " d"], PromptTokens: 7);
        return
        [
            (ChatShape(model, "vLLM chat", VllmStream.ChatFailingAfter(g, tokens: 2)), "internal"),
            (ChatShape(model, "TGI chat", TgiStream.ChatFailingAfter(g, tokens: 2)), "validation"),
        ];
    }

    /// <summary>The content events: each carries one token of one choice, so ITL is observed once per event after the first.</summary>
    public int ContentEvents => Stream.Texts(WorkerEventKind.Content).Count;

    public override string ToString() => Name;

    private static WorkerShape ChatShape(string model, string name, WorkerStream stream) => new(name, "/v1/chat/completions", "chat_completions",
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"What is the weather in Paris?"}],"stream":true}""", stream);
}

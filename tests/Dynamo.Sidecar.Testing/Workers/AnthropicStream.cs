using static Dynamo.Sidecar.Testing.Workers.Json;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>
/// Anthropic Messages streams (<c>POST /v1/messages</c>), as Anthropic writes them and as the workers that serve
/// the API write them.
/// <para>
/// <see cref="Messages"/> and <see cref="MessagesFailingAfter"/>: the wire of Anthropic's streaming guide
/// (docs.anthropic.com/en/docs/build-with-claude/streaming), written like its basic example: <c>event:</c> line,
/// <c>data:</c> line with Python-style <c>", "</c> / <c>": "</c> spacing (and, as there, <c>"stop_sequence":null</c>
/// without a space in <c>message_delta</c>), a <c>ping</c> after the first block starts, <c>output_tokens: 1</c>
/// in <c>message_start</c>, the final <c>output_tokens</c> in <c>message_delta</c>, a <c>signature_delta</c> before a
/// thinking block closes, a tool call as a <c>tool_use</c> block fed by <c>input_json_delta</c>, and a failure as
/// <c>event: error</c> with no <c>message_stop</c>. Cache figures go in <c>message_start</c>'s usage
/// (<c>input_tokens</c> excludes cache reads and writes). That page is not in the stored corpus; this is written
/// from its examples, not from a serializer.
/// </para>
/// <para>
/// <see cref="Vllm"/>: <c>vllm-project/vllm</c> <c>vllm/entrypoints/anthropic/serving.py@82df3f491008e46124f7afb5008c789dc7432515</c>
/// (<c>message_stream_converter</c>, <c>wrap_data_with_event</c>) and <c>anthropic/protocol.py@82df3f49</c>: each event
/// is <c>model_dump_json(exclude_unset=True)</c>, so <c>message_start</c>'s message has no <c>type</c>/<c>role</c>, keys
/// follow <c>AnthropicStreamEvent</c>'s order (<c>type, message, delta, content_block, index, error, usage</c>);
/// <c>input_tokens</c> comes from the converted request's <c>continuous_usage_stats</c>, <c>message_delta</c>
/// repeats it beside <c>output_tokens</c>, and <c>message_stop</c> is followed by <c>data: [DONE]</c>.
/// </para>
/// <para>
/// <see cref="Sglang"/>: <c>sgl-project/sglang</c> <c>python/sglang/srt/entrypoints/anthropic/serving.py@50e143a67729a27e5939dfb586ca449648ddb0fa</c>
/// (<c>_generate_anthropic_stream</c>) and <c>anthropic/protocol.py@27522b3cee51352753f2a3a793b636d3510b080c</c>: events are
/// <c>model_dump_json(exclude_none=True)</c> in <c>AnthropicStreamEvent</c>'s key order; the converter streams text only
/// (reasoning chunks are dropped, their tokens still counted in <c>output_tokens</c>), closes the block and writes
/// <c>message_delta</c> with the usage chunk's figures when <c>[DONE]</c> arrives, and forwards no <c>[DONE]</c>.
/// <c>message_start</c>'s <c>input_tokens</c> is 0: the role chunk it reads carries no usage. That the converted
/// request asks for <c>include_usage</c> (so <c>message_delta</c> has real figures) was not checked; modelled as yes.
/// </para>
/// <para>
/// <see cref="LlamaCpp"/>: <c>ggml-org/llama.cpp</c> <c>tools/server/server-task.cpp@00efb3e184262872916bf136b3df63c1822a19bd</c>
/// (<c>to_json_anthropic</c>, <c>to_json_anthropic_stream</c>) with <c>format_anthropic_sse</c>: compact, no <c>ping</c>,
/// <c>message_start</c> with <c>output_tokens: 0</c>, <c>message_delta</c> with only <c>output_tokens</c>, no
/// <c>[DONE]</c>, no cache figures.
/// </para>
/// </summary>
public static class AnthropicStream
{
    public const string DefaultMessageId = "msg_01XFDUDYJgAACzvnptvVoYEL";
    public const string DefaultToolUseId = "toolu_01T1x1fJ34qAmk2tNTrN7Up6";
    public const string Signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";

    /// <summary>A stream in Anthropic's own wire format. <paramref name="cacheCreationTokens"/> are prompt tokens written to the cache.</summary>
    public static WorkerStream Messages(Generation generation, int cacheCreationTokens = 0) => Official(generation, cacheCreationTokens, failAfterTokens: null);

    /// <summary>
    /// Anthropic's wire with <c>input_tokens</c> counting the cache reads too, as the workers that
    /// <c>Sidecar:Metering:AnthropicInputIncludesCached</c> serves write it (README: SGLang, Ollama). Modelled: none of
    /// the stored converters was read writing <c>cache_read_input_tokens</c>; only the meaning of <c>input_tokens</c> differs.
    /// </summary>
    public static WorkerStream MessagesCountingCacheReadsInInput(Generation generation, int cacheCreationTokens = 0) =>
        Official(generation, cacheCreationTokens, failAfterTokens: null, inputIncludesCacheReads: true);

    /// <summary>A stream Anthropic ends with <c>event: error</c> after <paramref name="tokens"/> tokens.</summary>
    public static WorkerStream MessagesFailingAfter(Generation generation, int tokens, string errorType = "overloaded_error", string message = "Overloaded") =>
        Official(generation, cacheCreationTokens: 0, tokens, errorType, message);

    /// <summary>The error event Anthropic writes.</summary>
    public static string Error(string type, string message) =>
        Object(("type", "error"), ("error", Object(("type", type), ("message", message)))).ToJson(JsonStyle.PythonDumps);

    /// <summary>A non-streaming Messages answer with the same usage object.</summary>
    public static string Unary(Generation generation, int cacheCreationTokens = 0) => Object(
        ("id", DefaultMessageId),
        ("type", "message"),
        ("role", "assistant"),
        ("model", generation.Model),
        ("content", Array(Object(("type", "text"), ("text", string.Concat(generation.Tokens))))),
        ("stop_reason", StopReason(generation)),
        ("stop_sequence", null),
        ("usage", Usage(generation, cacheCreationTokens, generation.TokensPerChoice))).ToJson(JsonStyle.Compact);

    /// <summary>vLLM's <c>/v1/messages</c> stream, converted from its own chat stream.</summary>
    public static WorkerStream Vllm(Generation generation)
    {
        Modelled.Require(generation.Choices == 1, "vLLM messages", "n > 1");
        var style = JsonStyle.Compact;
        var events = new EventList();
        var prompt = generation.PromptTokens;
        events.Named(WorkerEventKind.Frame, "message_start", Object(
            ("type", "message_start"),
            ("message", Object(("id", VllmStream.DefaultChatId), ("content", Array()), ("model", generation.Model), ("stop_reason", null), ("stop_sequence", null),
                ("usage", Object(("input_tokens", prompt), ("output_tokens", 0)))))).ToJson(style));
        var index = 0;
        void Block(OrderedJsonObject start, IEnumerable<OrderedJsonObject> deltas, bool signed)
        {
            events.Named(WorkerEventKind.Frame, "content_block_start", Object(("type", "content_block_start"), ("content_block", start), ("index", index)).ToJson(style));
            foreach (var delta in deltas)
            {
                events.Named(WorkerEventKind.Content, "content_block_delta", Object(("type", "content_block_delta"), ("delta", delta), ("index", index)).ToJson(style));
            }

            if (signed)
            {
                events.Named(WorkerEventKind.Frame, "content_block_delta",
                    Object(("type", "content_block_delta"), ("delta", Object(("type", "signature_delta"), ("signature", "5f0e3a7c9b1d4e2f8a6c0b3d7e9f1a2c"))), ("index", index)).ToJson(style));
            }

            events.Named(WorkerEventKind.Frame, "content_block_stop", Object(("type", "content_block_stop"), ("index", index)).ToJson(style));
            index++;
        }

        if (generation.Reasoning.Count > 0)
        {
            Block(Object(("type", "thinking"), ("thinking", "")), generation.Reasoning.Select(r => Object(("type", "thinking_delta"), ("thinking", r))), signed: true);
        }

        if (generation.Tokens.Count > 0)
        {
            Block(Object(("type", "text"), ("text", "")), generation.Tokens.Select(t => Object(("type", "text_delta"), ("text", t))), signed: false);
        }

        if (generation.Tool is { } tool)
        {
            Block(Object(("type", "tool_use"), ("id", tool.Id), ("name", tool.Name), ("input", Object())),
                tool.ArgumentPieces.Select(p => Object(("type", "input_json_delta"), ("partial_json", p))), signed: false);
        }

        var output = generation.TokensPerChoice;
        events.Named(WorkerEventKind.Frame, "message_delta", Object(
            ("type", "message_delta"), ("delta", Object(("stop_reason", StopReason(generation)))), ("usage", Object(("input_tokens", prompt), ("output_tokens", output)))).ToJson(style));
        events.Named(WorkerEventKind.Frame, "message_stop", Object(("type", "message_stop")).ToJson(style));
        events.Done();
        return new WorkerStream(events, new WorkerUsage(prompt, output, CachedTokens: null));
    }

    /// <summary>SGLang's <c>/v1/messages</c> stream, converted from its own chat stream.</summary>
    public static WorkerStream Sglang(Generation generation)
    {
        Modelled.Require(generation.Choices == 1 && generation.Tool is null, "SGLang messages", "n > 1 or a tool call");
        var style = JsonStyle.Compact;
        var events = new EventList();
        events.Named(WorkerEventKind.Frame, "message_start", Object(
            ("type", "message_start"),
            ("message", Object(("id", "msg_8d4c2b0a9f7e6d5c4b3a2f1e0d9c8b7a"), ("type", "message"), ("role", "assistant"), ("content", Array()), ("model", generation.Model),
                ("usage", Object(("input_tokens", 0), ("output_tokens", 0)))))).ToJson(style));
        if (generation.Tokens.Count > 0)
        {
            events.Named(WorkerEventKind.Frame, "content_block_start", Object(("type", "content_block_start"), ("content_block", Object(("type", "text"), ("text", ""))), ("index", 0)).ToJson(style));
            foreach (var token in generation.Tokens)
            {
                events.Named(WorkerEventKind.Content, "content_block_delta", Object(("type", "content_block_delta"), ("delta", Object(("type", "text_delta"), ("text", token))), ("index", 0)).ToJson(style));
            }

            events.Named(WorkerEventKind.Frame, "content_block_stop", Object(("type", "content_block_stop"), ("index", 0)).ToJson(style));
        }

        var output = generation.TokensPerChoice;
        events.Named(WorkerEventKind.Frame, "message_delta", Object(
            ("type", "message_delta"), ("delta", Object(("stop_reason", StopReason(generation)))), ("usage", Object(("input_tokens", generation.PromptTokens), ("output_tokens", output)))).ToJson(style));
        events.Named(WorkerEventKind.Frame, "message_stop", Object(("type", "message_stop")).ToJson(style));
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, output, CachedTokens: null));
    }

    /// <summary>llama.cpp's <c>/v1/messages</c> stream.</summary>
    public static WorkerStream LlamaCpp(Generation generation)
    {
        Modelled.Require(generation.Choices == 1, "llama.cpp messages", "n > 1");
        var style = JsonStyle.Compact;
        var events = new EventList();
        var prompt = generation.PromptTokens;
        events.Named(WorkerEventKind.Frame, "message_start", Object(
            ("type", "message_start"),
            ("message", Object(("id", LlamaCppStream.DefaultId), ("type", "message"), ("role", "assistant"), ("content", Array()), ("model", generation.Model),
                ("stop_reason", null), ("stop_sequence", null), ("usage", Object(("input_tokens", prompt), ("output_tokens", 0)))))).ToJson(style));
        var blocks = 0;
        void Block(OrderedJsonObject start, IEnumerable<OrderedJsonObject> deltas)
        {
            var index = blocks++;
            events.Named(WorkerEventKind.Frame, "content_block_start", Object(("type", "content_block_start"), ("index", index), ("content_block", start)).ToJson(style));
            foreach (var delta in deltas)
            {
                events.Named(WorkerEventKind.Content, "content_block_delta", Object(("type", "content_block_delta"), ("index", index), ("delta", delta)).ToJson(style));
            }
        }

        if (generation.Reasoning.Count > 0)
        {
            Block(Object(("type", "thinking"), ("thinking", "")), generation.Reasoning.Select(r => Object(("type", "thinking_delta"), ("thinking", r))));
        }

        if (generation.Tokens.Count > 0)
        {
            Block(Object(("type", "text"), ("text", "")), generation.Tokens.Select(t => Object(("type", "text_delta"), ("text", t))));
        }

        if (generation.Tool is { } tool)
        {
            Block(Object(("type", "tool_use"), ("id", tool.Id), ("name", tool.Name)), tool.ArgumentPieces.Select(p => Object(("type", "input_json_delta"), ("partial_json", p))));
        }

        // The final result closes the blocks in order; the thinking block gets an empty signature first.
        for (var index = 0; index < blocks; index++)
        {
            if (index == 0 && generation.Reasoning.Count > 0)
            {
                events.Named(WorkerEventKind.Frame, "content_block_delta",
                    Object(("type", "content_block_delta"), ("index", 0), ("delta", Object(("type", "signature_delta"), ("signature", "")))).ToJson(style));
            }

            events.Named(WorkerEventKind.Frame, "content_block_stop", Object(("type", "content_block_stop"), ("index", index)).ToJson(style));
        }

        var output = generation.TokensPerChoice;
        events.Named(WorkerEventKind.Frame, "message_delta", Object(
            ("type", "message_delta"), ("delta", Object(("stop_reason", StopReason(generation)), ("stop_sequence", null))), ("usage", Object(("output_tokens", output)))).ToJson(style));
        events.Named(WorkerEventKind.Frame, "message_stop", Object(("type", "message_stop")).ToJson(style));
        return new WorkerStream(events, new WorkerUsage(prompt, output, CachedTokens: null));
    }

    private static string StopReason(Generation generation) => generation.FinishReason switch
    {
        "length" => "max_tokens",
        _ when generation.Tool is not null => "tool_use",
        _ => "end_turn",
    };

    private static OrderedJsonObject Usage(Generation generation, int cacheCreationTokens, int outputTokens, bool inputIncludesCacheReads = false)
    {
        if (generation.CachedTokens is not { } cacheRead)
        {
            return Object(("input_tokens", generation.PromptTokens - cacheCreationTokens), ("output_tokens", outputTokens));
        }

        return Object(
            ("input_tokens", generation.PromptTokens - (inputIncludesCacheReads ? 0 : cacheRead) - cacheCreationTokens),
            ("cache_creation_input_tokens", cacheCreationTokens),
            ("cache_read_input_tokens", cacheRead),
            ("output_tokens", outputTokens));
    }

    private static WorkerStream Official(
        Generation generation, int cacheCreationTokens, int? failAfterTokens, string errorType = "", string message = "", bool inputIncludesCacheReads = false)
    {
        Modelled.Require(generation.Choices == 1, "Anthropic", "n > 1");
        var style = JsonStyle.PythonDumps;
        var events = new EventList();
        events.Named(WorkerEventKind.Frame, "message_start", Object(
            ("type", "message_start"),
            ("message", Object(("id", DefaultMessageId), ("type", "message"), ("role", "assistant"), ("content", Array()), ("model", generation.Model),
                ("stop_reason", null), ("stop_sequence", null), ("usage", Usage(generation, cacheCreationTokens, outputTokens: 1, inputIncludesCacheReads))))).ToJson(style));

        var streamed = 0;
        var index = 0;
        var pinged = false;
        bool Block(OrderedJsonObject start, IReadOnlyList<OrderedJsonObject> deltas, OrderedJsonObject? signature)
        {
            events.Named(WorkerEventKind.Frame, "content_block_start", Object(("type", "content_block_start"), ("index", index), ("content_block", start)).ToJson(style));
            if (!pinged)
            {
                events.Named(WorkerEventKind.Frame, "ping", Object(("type", "ping")).ToJson(style));
                pinged = true;
            }

            foreach (var delta in deltas)
            {
                if (streamed == failAfterTokens)
                {
                    events.Named(WorkerEventKind.Error, "error", Error(errorType, message));
                    return false;
                }

                events.Named(WorkerEventKind.Content, "content_block_delta", Object(("type", "content_block_delta"), ("index", index), ("delta", delta)).ToJson(style));
                streamed++;
            }

            if (signature is not null)
            {
                events.Named(WorkerEventKind.Frame, "content_block_delta", Object(("type", "content_block_delta"), ("index", index), ("delta", signature)).ToJson(style));
            }

            events.Named(WorkerEventKind.Frame, "content_block_stop", Object(("type", "content_block_stop"), ("index", index)).ToJson(style));
            index++;
            return true;
        }

        var going = true;
        if (generation.Reasoning.Count > 0)
        {
            going = Block(Object(("type", "thinking"), ("thinking", "")), [.. generation.Reasoning.Select(r => Object(("type", "thinking_delta"), ("thinking", r)))],
                Object(("type", "signature_delta"), ("signature", Signature)));
        }

        if (going && generation.Tokens.Count > 0)
        {
            going = Block(Object(("type", "text"), ("text", "")), [.. generation.Tokens.Select(t => Object(("type", "text_delta"), ("text", t)))], signature: null);
        }

        if (going && generation.Tool is { } tool)
        {
            going = Block(Object(("type", "tool_use"), ("id", tool.Id), ("name", tool.Name), ("input", Object())),
                [.. tool.ArgumentPieces.Select(p => Object(("type", "input_json_delta"), ("partial_json", p)))], signature: null);
        }

        if (!going)
        {
            return new WorkerStream(events, usage: null);
        }

        var output = generation.TokensPerChoice;
        var stop = "{" + Quote("stop_reason", style) + ": " + Quote(StopReason(generation), style) + ", \"stop_sequence\":null}";
        events.Named(WorkerEventKind.Frame, "message_delta", Object(
            ("type", "message_delta"), ("delta", new RawJson(stop)), ("usage", Object(("output_tokens", output)))).ToJson(style));
        events.Named(WorkerEventKind.Frame, "message_stop", Object(("type", "message_stop")).ToJson(style));
        var cached = generation.CachedTokens;
        return new WorkerStream(events, new WorkerUsage(generation.PromptTokens, output, cached));
    }
}

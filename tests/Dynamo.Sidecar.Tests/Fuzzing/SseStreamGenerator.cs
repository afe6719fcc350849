using System.Text;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>A generated worker body and what a pristine one must meter to.</summary>
internal sealed class GeneratedStream
{
    public required byte[] Bytes { get; init; }

    public required MeteredEndpoint Endpoint { get; init; }

    /// <summary>No mutation of any kind: the metrics must come out exact.</summary>
    public required bool Pristine { get; init; }

    /// <summary>For a pristine stream: what <c>output_tokens_total</c> must end at.</summary>
    public long OutputTokens { get; init; }

    /// <summary>For a pristine stream: the prompt tokens the worker reported, if it reported usage.</summary>
    public long? PromptTokens { get; init; }
}

/// <summary>
/// Streams as vLLM writes them for chat/completions, completions and responses (role chunk, content,
/// reasoning, tool calls, finish, usage-only chunk, <c>[DONE]</c>, comments, keep-alives, multi-line data,
/// CR/LF/CRLF), then mutated structurally (wrong types, huge numbers, deep nesting, duplicates) and byte by byte.
/// </summary>
internal sealed class SseStreamGenerator
{
    private static readonly string[] Texts =
    [
        "Hello", ",", " world", "!", " ", "\n", "日本語", "😀", "w\u00f6rld", "\"quoted\"", "back\\slash", "tab\there",
        "data: [DONE]\n\n", "\r\n", "{\"choices\":[]}", "\u0001", "x",
    ];

    private readonly Random _rng;
    private readonly bool _mutate;
    private readonly int _newlineStyle;
    private readonly List<byte[]> _events = [];
    private bool _mutated;
    private string _lastNewline = "";
    private int _contentChunks;

    private SseStreamGenerator(Random rng, bool mutate)
    {
        _rng = rng;
        _mutate = mutate;
        _newlineStyle = rng.Next(4);
    }

    /// <param name="padAround">When set, some usage-only chunks are padded to about this many bytes (cap tests).</param>
    /// <param name="contentChunks">How many content chunks (default: 0 to 11).</param>
    public static GeneratedStream Realistic(Random rng, MeteredEndpoint endpoint, bool mutate, int? padAround = null, int? contentChunks = null)
    {
        var generator = new SseStreamGenerator(rng, mutate) { _contentChunks = contentChunks ?? rng.Next(0, 12) };
        var (output, prompt) = endpoint == MeteredEndpoint.Responses
            ? generator.Responses(padAround)
            : generator.Completions(endpoint == MeteredEndpoint.ChatCompletions, padAround);
        generator.MutateEvents();
        var bytes = generator._events.SelectMany(e => e).ToArray();
        if (mutate && rng.Chance(0.6))
        {
            bytes = Fuzz.MutateBytes(rng, bytes, rng.Next(1, 5));
            generator._mutated = true;
        }

        return new GeneratedStream
        {
            Bytes = bytes,
            Endpoint = endpoint,
            Pristine = !generator._mutated,
            OutputTokens = output,
            PromptTokens = prompt,
        };
    }

    private static readonly string[] SoupTokens =
    [
        "data:", "data: ", "data", "\n", "\r", "\r\n", "\n\n", ":", ": ping", "event: x", "id: 1", "retry: 5", "{", "}", "[", "]", ",",
        "\"choices\":[]", "\"choices\"", "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}", "\"usage\":{}", "\"usage\":null",
        "[DONE]", " ", "\"", "\\", "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}", "\"delta\":{\"content\":\"a\"}", "x",
    ];

    /// <summary>SSE-flavoured token soup with random bytes in it.</summary>
    public static GeneratedStream Soup(Random rng, MeteredEndpoint endpoint)
    {
        var text = new List<byte>();
        var tokens = rng.SkewedSize(300);
        for (var i = 0; i < tokens; i++)
        {
            if (rng.Chance(0.1))
            {
                text.Add((byte)rng.Next(256));
            }
            else
            {
                text.AddRange(Encoding.UTF8.GetBytes(rng.Pick(SoupTokens)));
            }
        }

        return new GeneratedStream { Bytes = [.. text], Endpoint = endpoint, Pristine = false };
    }

    /// <summary>The stream's line ending; mixed streams never put an LF right after a CR (that would be one CRLF, not two lines).</summary>
    private string Newline()
    {
        var newline = (_newlineStyle == 3 ? _rng.Next(3) : _newlineStyle) switch
        {
            0 => "\n",
            1 => "\r\n",
            _ => "\r",
        };
        if (_lastNewline == "\r" && newline == "\n")
        {
            newline = "\r";
        }

        _lastNewline = newline;
        return newline;
    }

    private void AddEvent(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append(Newline());
        }

        text.Append(Newline());
        _events.Add(Encoding.UTF8.GetBytes(text.ToString()));
    }

    private void AddData(JNode json, string? eventName = null)
    {
        var lines = new List<string>();
        if (_rng.Chance(0.05))
        {
            lines.Add(": " + _rng.Pick(Texts).Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal));
        }

        if (eventName is not null)
        {
            lines.Add("event: " + eventName);
        }
        else if (_rng.Chance(0.05))
        {
            lines.Add("event: message");
        }

        if (_rng.Chance(0.05))
        {
            lines.Add("id: " + _rng.Next(1000));
        }

        if (_mutate && _rng.Chance(0.25))
        {
            JMutator.Mutate(_rng, json, _rng.Next(1, 3), asChunk: true, Usage);
            _mutated = true;
        }

        var style = _rng.Next(20) switch
        {
            < 13 => JStyle.Compact,
            < 16 => JStyle.Spaced,
            < 18 => JStyle.Pretty,
            _ => JStyle.Random,
        };
        var prefix = _rng.Chance(0.9) ? "data: " : "data:";
        lines.AddRange(JWriter.Write(json, _rng, style, allowNewlines: false).Split('\n').Select(line => prefix + line));
        if (_rng.Chance(0.03))
        {
            lines.Add("retry: 3000");
        }

        AddEvent(lines);
        MaybeKeepAlive();
    }

    private void AddRawData(string data) => AddEvent([(_rng.Chance(0.9) ? "data: " : "data:") + data]);

    /// <summary>A single-line data event padded with JSON white space to exactly <paramref name="length"/> bytes when possible.</summary>
    private void AddPaddedData(JNode json, int length)
    {
        var newline = Newline();
        var line = "data: " + JWriter.Write(json, _rng, JStyle.Compact, allowNewlines: false);
        var padding = Math.Max(0, length - Encoding.UTF8.GetByteCount(line) - (2 * newline.Length));
        _events.Add(Encoding.UTF8.GetBytes("data: " + new string(' ', padding) + line[6..] + newline + newline));
    }

    private void MaybeKeepAlive()
    {
        if (_rng.Chance(0.05))
        {
            AddEvent(_rng.Chance(0.5) ? [": ping"] : []);
        }
    }

    private (long Output, long? Prompt) Completions(bool chat, int? padAround)
    {
        var head = (string id, JArr choices, JNode? usage) =>
        {
            var chunk = new JObj()
                .Add("id", id)
                .Add("object", chat ? "chat.completion.chunk" : "text_completion")
                .Add("created", 1718000000)
                .Add("model", "m");
            if (_rng.Chance(0.5) || usage is not null)
            {
                chunk.Add("choices", choices);
                if (usage is not null)
                {
                    chunk.Add("usage", usage);
                }
            }
            else
            {
                // Some workers write usage before choices, or an explicit null usage.
                if (_rng.Chance(0.3))
                {
                    chunk.Add("usage", JRaw.Null);
                }

                chunk.Add("choices", choices);
            }

            return chunk;
        };

        var id = chat ? "chatcmpl-7f3a" : "cmpl-7f3a";
        var prompt = (long)_rng.Next(0, 5000);
        var continuous = _rng.Chance(0.2);
        var tokens = 0L;

        MaybeKeepAlive();
        if (chat)
        {
            AddData(head(id, new JArr(Choice(0, new JObj().Add("role", "assistant").Add("content", ""), null)), null));
        }

        for (var i = 0; i < _contentChunks; i++)
        {
            if (_rng.Chance(0.08))
            {
                // An empty string is not output.
                AddData(head(id, new JArr(chat ? Choice(0, new JObj().Add("content", ""), null) : TextChoice(0, "", null)), null));
            }

            var choiceCount = _rng.Chance(0.15) ? 2 : 1;
            var choices = new JArr();
            for (var c = 0; c < choiceCount; c++)
            {
                choices.Items.Add(chat ? Choice(c, ChatDelta(), null) : TextChoice(c, _rng.Pick(Texts), null));
            }

            tokens += choiceCount;
            AddData(head(id, choices, continuous ? Usage(prompt, tokens, null) : null));
        }

        var finishUsage = continuous ? Usage(prompt, tokens, null) : null;
        AddData(head(id, new JArr(chat ? Choice(0, new JObj().Add("content", ""), "stop") : TextChoice(0, "", "length")), finishUsage));

        var completion = tokens + _rng.Next(0, 3);
        var cached = _rng.Chance(0.5) ? (long?)_rng.Next(0, (int)prompt + 1) : null;
        var usageOnly = _rng.Chance(0.85);
        if (usageOnly)
        {
            var chunk = head(id, new JArr(), Usage(prompt, completion, cached));
            if (padAround is { } around && _rng.Chance(0.7))
            {
                AddPaddedData(chunk, around + _rng.Next(-6, 7));
            }
            else
            {
                AddData(chunk);
            }
        }

        if (_rng.Chance(0.9))
        {
            AddRawData("[DONE]");
        }

        MaybeKeepAlive();
        return usageOnly ? (completion, prompt) : (tokens, continuous ? prompt : null);
    }

    private JObj ChatDelta() => _rng.Next(10) switch
    {
        0 => new JObj().Add("reasoning_content", _rng.Pick(Texts)),
        1 => new JObj().Add("reasoning", _rng.Pick(Texts)),
        2 => new JObj().Add("tool_calls", new JArr(new JObj()
            .Add("index", 0)
            .Add("id", "call_1")
            .Add("type", "function")
            .Add("function", new JObj().Add("name", "get_weather").Add("arguments", "{\"city\":\"Paris\"}")))),
        _ => new JObj().Add("content", _rng.Pick(Texts)),
    };

    private static JObj Choice(int index, JObj delta, string? finish) => new JObj()
        .Add("index", index)
        .Add("delta", delta)
        .Add("logprobs", JRaw.Null)
        .Add("finish_reason", finish is null ? JRaw.Null : new JStr(finish));

    private static JObj TextChoice(int index, string text, string? finish) => new JObj()
        .Add("index", index)
        .Add("text", text)
        .Add("logprobs", JRaw.Null)
        .Add("finish_reason", finish is null ? JRaw.Null : new JStr(finish))
        .Add("stop_reason", JRaw.Null);

    private static JObj Usage(long prompt, long completion, long? cached)
    {
        var usage = new JObj().Add("prompt_tokens", prompt).Add("total_tokens", prompt + completion).Add("completion_tokens", completion);
        if (cached is not null)
        {
            usage.Add("prompt_tokens_details", new JObj().Add("cached_tokens", cached.Value));
        }

        return usage;
    }

    private (long Output, long? Prompt) Responses(int? padAround)
    {
        var sequence = 0;
        var response = (string status, JNode usage) => new JObj()
            .Add("id", "resp_1")
            .Add("object", "response")
            .Add("created_at", 1718000000)
            .Add("status", status)
            .Add("model", "m")
            .Add("output", new JArr())
            .Add("usage", usage);
        var emit = (string type, Action<JObj> fill) =>
        {
            var ev = new JObj().Add("type", type).Add("sequence_number", sequence++);
            fill(ev);
            AddData(ev, _rng.Chance(0.9) ? type : null);
        };

        emit("response.created", e => e.Add("response", response("in_progress", JRaw.Null)));
        emit("response.in_progress", e => e.Add("response", response("in_progress", JRaw.Null)));
        emit("response.output_item.added", e => e.Add("output_index", 0).Add("item", new JObj().Add("id", "msg_1").Add("type", "message")));
        var tokens = 0L;
        for (var i = 0; i < _contentChunks; i++)
        {
            var reasoning = _rng.Chance(0.15);
            var text = _rng.Pick(Texts);
            emit(reasoning ? "response.reasoning_text.delta" : "response.output_text.delta", e => e
                .Add("item_id", "msg_1")
                .Add("output_index", 0)
                .Add("content_index", 0)
                .Add("delta", text));
            tokens++;
        }

        emit("response.output_text.done", e => e.Add("item_id", "msg_1").Add("text", "Hello"));
        var prompt = (long)_rng.Next(0, 5000);
        var output = tokens + _rng.Next(0, 3);
        var completed = _rng.Chance(0.9);
        if (completed)
        {
            var usage = new JObj()
                .Add("input_tokens", prompt)
                .Add("input_tokens_details", new JObj().Add("cached_tokens", 0))
                .Add("output_tokens", output)
                .Add("output_tokens_details", new JObj().Add("reasoning_tokens", 0))
                .Add("total_tokens", prompt + output);
            var ev = new JObj().Add("type", "response.completed").Add("sequence_number", sequence).Add("response", response("completed", usage));
            if (padAround is { } around && _rng.Chance(0.5))
            {
                AddPaddedData(ev, around + _rng.Next(-6, 7));
            }
            else
            {
                AddData(ev, "response.completed");
            }
        }

        return completed ? (output, prompt) : (tokens, null);
    }

    private void MutateEvents()
    {
        if (!_mutate || _events.Count == 0 || !_rng.Chance(0.4))
        {
            return;
        }

        _mutated = true;
        var count = _rng.Next(1, 3);
        for (var i = 0; i < count && _events.Count > 0; i++)
        {
            var at = _rng.Next(_events.Count);
            switch (_rng.Next(4))
            {
                case 0:
                case 1:
                    _events.Insert(_rng.Next(_events.Count + 1), _events[at]);
                    break;
                case 2:
                    _events.RemoveAt(at);
                    break;
                default:
                    var other = _rng.Next(_events.Count);
                    (_events[at], _events[other]) = (_events[other], _events[at]);
                    break;
            }
        }
    }
}

using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>Unary response bodies and request bodies as OpenAI-compatible workers and clients write them, mutated.</summary>
internal static class JsonBodyGenerator
{
    private static readonly string[] Texts = ["Hello, world!", "w\u00f6rld", "日本語 😀", "\"quoted\"", "line\nbreak", "", "\u0000", "back\\slash"];
    private static readonly string[] Models = ["m", "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-0.6B", "モデル", "", "m\"odel"];

    public static JObj Usage(long prompt, long completion, long? cached)
    {
        var usage = new JObj().Add("prompt_tokens", prompt).Add("total_tokens", prompt + completion).Add("completion_tokens", completion);
        if (cached is not null)
        {
            usage.Add("prompt_tokens_details", new JObj().Add("cached_tokens", cached.Value));
        }

        return usage;
    }

    /// <summary>A unary response (chat, completions, embeddings or responses), with decoy <c>usage</c> members below the top level.</summary>
    public static JObj UnaryResponse(Random rng)
    {
        var prompt = (long)rng.Next(0, 100_000);
        var completion = (long)rng.Next(0, 10_000);
        var cached = rng.Chance(0.5) ? (long?)rng.Next(0, 1000) : null;
        var body = new JObj();
        JNode usage = rng.Next(10) switch
        {
            0 => JRaw.Null,
            1 => new JObj(),
            _ => Usage(prompt, completion, cached),
        };
        switch (rng.Next(4))
        {
            case 0:
                body.Add("id", "chatcmpl-9b1").Add("object", "chat.completion").Add("created", 1718000000).Add("model", rng.Pick(Models))
                    .Add("choices", Repeat(rng, () => new JObj()
                        .Add("index", 0)
                        .Add("message", new JObj().Add("role", "assistant").Add("content", rng.Pick(Texts)).Add("tool_calls", new JArr())
                            .Add("reasoning_content", rng.Chance(0.5) ? JRaw.Null : new JStr(rng.Pick(Texts))))
                        .Add("logprobs", JRaw.Null)
                        .Add("finish_reason", "stop")
                        .Add("usage", Usage(1, 2, 3))))
                    .Add("prompt_logprobs", JRaw.Null)
                    .Add("kv_transfer_params", JRaw.Null);
                break;
            case 1:
                body.Add("id", "cmpl-1").Add("object", "text_completion").Add("model", rng.Pick(Models))
                    .Add("choices", Repeat(rng, () => new JObj().Add("index", 0).Add("text", rng.Pick(Texts)).Add("finish_reason", "length")));
                break;
            case 2:
                body.Add("object", "list")
                    .Add("data", Repeat(rng, () => new JObj().Add("object", "embedding").Add("index", 0).Add("embedding", Floats(rng))))
                    .Add("model", rng.Pick(Models));
                usage = rng.Chance(0.8) ? new JObj().Add("prompt_tokens", prompt).Add("total_tokens", prompt) : usage;
                break;
            default:
                body.Add("id", "resp_1").Add("object", "response").Add("status", "completed")
                    .Add("output", new JArr(new JObj().Add("type", "message").Add("content", new JArr(new JObj().Add("type", "output_text").Add("text", rng.Pick(Texts))))))
                    .Add("metadata", new JObj().Add("usage", Usage(7, 8, 9)));
                usage = rng.Chance(0.8)
                    ? new JObj().Add("input_tokens", prompt).Add("input_tokens_details", new JObj().Add("cached_tokens", cached ?? 0))
                        .Add("output_tokens", completion).Add("output_tokens_details", new JObj().Add("reasoning_tokens", 0)).Add("total_tokens", prompt + completion)
                    : usage;
                break;
        }

        if (rng.Chance(0.95))
        {
            body.Members.Insert(rng.Next(body.Members.Count + 1), new("usage", usage));
        }

        return body;
    }

    /// <summary>A request body for a metered endpoint: stream, stream_options and the rest in every shape a client sends.</summary>
    public static JObj Request(Random rng)
    {
        var members = new List<KeyValuePair<string, JNode>>();
        if (rng.Chance(0.9))
        {
            members.Add(new("model", rng.Chance(0.9) ? new JStr(rng.Pick(Models)) : JMutator.WrongValue(rng)));
        }

        members.Add(rng.Chance(0.8)
            ? new("messages", Repeat(rng, () => new JObj().Add("role", "user").Add("content", rng.Pick(Texts))))
            : new("prompt", rng.Chance(0.7) ? new JStr(rng.Pick(Texts)) : new JArr(new JStr("a"), new JStr("b"))));
        JNode? stream = rng.Next(10) switch
        {
            < 6 => JRaw.True,
            6 => JRaw.False,
            7 => new JStr("true"),
            8 => new JNum(1),
            _ => null,
        };
        if (stream is not null)
        {
            members.Add(new("stream", stream));
        }

        JNode? options = rng.Next(16) switch
        {
            < 5 => null,
            5 => JRaw.Null,
            6 => new JObj(),
            7 => new JObj().Add("include_usage", JRaw.True),
            8 => new JObj().Add("include_usage", JRaw.False),
            9 => new JObj().Add("include_usage", JRaw.Null),
            10 => new JObj().Add("continuous_usage_stats", JRaw.True),
            11 => new JObj().Add("continuous_usage_stats", JRaw.True).Add("include_usage", rng.Chance(0.5) ? JRaw.False : new JStr("yes")),
            12 => new JObj().Add("include_usage", JRaw.False).Add("include_usage", rng.Chance(0.5) ? JRaw.True : JRaw.False),
            13 => new JObj().Add("include_usage", new JObj().Add("x", new JArr(JRaw.True))).Add("other", 1),
            _ => JMutator.WrongValue(rng),
        };
        if (options is not null)
        {
            members.Add(new("stream_options", options));
        }

        if (rng.Chance(0.5))
        {
            members.Add(new("max_tokens", new JNum(rng.Chance(0.8) ? "256" : rng.Pick(Fuzz.HugeNumbers))));
            members.Add(new("temperature", new JNum("0.7")));
        }

        if (rng.Chance(0.3))
        {
            members.Add(new("tools", new JArr(new JObj().Add("type", "function").Add("function", new JObj()
                .Add("name", "f")
                .Add("parameters", JMutator.Nest(rng, rng.Chance(0.9) ? rng.Next(1, 100) : rng.Pick(JMutator.Depths)))))));
        }

        if (rng.Chance(0.2))
        {
            // Decoys: the same names one level down must not count.
            members.Add(new("metadata", new JObj().Add("stream", JRaw.False).Add("stream_options", new JObj().Add("include_usage", JRaw.True)).Add("model", "decoy")));
        }

        if (rng.Chance(0.5))
        {
            Shuffle(rng, members);
        }

        var body = new JObj();
        body.Members.AddRange(members);
        if (rng.Chance(0.1) && body.Members.Count > 0)
        {
            var duplicate = rng.Pick(body.Members);
            body.Members.Insert(rng.Next(body.Members.Count + 1), new(duplicate.Key, rng.Chance(0.5) ? duplicate.Value : JMutator.WrongValue(rng)));
        }

        return body;
    }

    /// <summary>Writes the tree with random white space (newlines too), sometimes around it as well.</summary>
    public static byte[] Write(Random rng, JNode node)
    {
        var style = rng.Next(4) switch
        {
            0 => JStyle.Compact,
            1 => JStyle.Spaced,
            2 => JStyle.Pretty,
            _ => JStyle.Random,
        };
        var text = JWriter.Write(node, rng, style, allowNewlines: true);
        if (rng.Chance(0.1))
        {
            text = rng.Pick([" ", "\n", "\r\n\t"]) + text + rng.Pick(["", " ", "\n", "\r\n"]);
        }

        return Encoding.UTF8.GetBytes(text);
    }

    private static JArr Repeat(Random rng, Func<JNode> item)
    {
        var array = new JArr();
        var count = rng.Next(0, 3);
        for (var i = 0; i < count; i++)
        {
            array.Items.Add(item());
        }

        return array;
    }

    private static JArr Floats(Random rng)
    {
        var array = new JArr();
        var count = rng.SkewedSize(64);
        for (var i = 0; i < count; i++)
        {
            array.Items.Add(new JNum((rng.NextDouble() - 0.5).ToString("R", CultureInfo.InvariantCulture)));
        }

        return array;
    }

    private static void Shuffle<T>(Random rng, List<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

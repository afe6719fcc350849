using System.Text.Json;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class ChatCompletionsTests(SimulatedWorkerFixture worker)
{
    // "Hello" is 5 bytes = 2 tokens, plus 4 template tokens for the one message.
    private const int HelloPromptTokens = 6;

    [Fact]
    public async Task Stream_without_usage_is_role_chunk_then_tokens_then_done_in_vllm_bytes()
    {
        var (raw, events) = await worker.PostStreamAsync("/v1/chat/completions", """
            {"model":"my-model","messages":[{"role":"user","content":"Hello"}],"max_tokens":3,"stream":true}
            """);

        Assert.Equal(5, events.Count);
        Assert.All(events, e => Assert.Equal("message", e.EventType));
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.EndsWith("}\n\ndata: [DONE]\n\n", raw, StringComparison.Ordinal);

        using var first = JsonDocument.Parse(events[0].Data);
        var id = first.RootElement.GetProperty("id").GetString()!;
        var created = first.RootElement.GetProperty("created").GetInt64();
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        var head = $$"""{"id":"{{id}}","object":"chat.completion.chunk","created":{{created}},"model":"my-model","choices":""";
        Assert.Equal(head + """[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""", events[0].Data);
        Assert.Equal(head + """[{"index":0,"delta":{"content":" The"},"logprobs":null,"finish_reason":null}]}""", events[1].Data);
        Assert.Equal(head + """[{"index":0,"delta":{"content":" quick"},"logprobs":null,"finish_reason":null}]}""", events[2].Data);
        Assert.Equal(head + """[{"index":0,"delta":{"content":" brown"},"logprobs":null,"finish_reason":"length","stop_reason":null}]}""", events[3].Data);
    }

    [Fact]
    public async Task Include_usage_adds_null_usage_to_every_chunk_and_a_final_usage_chunk()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/chat/completions", """
            {"model":"m","messages":[{"role":"user","content":"Hello"}],"max_tokens":2,"stream":true,
             "stream_options":{"include_usage":true}}
            """);

        var chunks = SimulatedWorkerFixture.ParseChunks(events);
        Assert.Equal(4, chunks.Count);
        Assert.All(chunks[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("usage").ValueKind));
        var final = chunks[^1];
        Assert.Equal(0, final.GetProperty("choices").GetArrayLength());
        Assert.Equal(
            $$$"""{"prompt_tokens":{{{HelloPromptTokens}}},"total_tokens":{{{HelloPromptTokens + 2}}},"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":0}}""",
            final.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Continuous_usage_reports_running_totals_on_every_chunk()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/chat/completions", """
            {"model":"m","messages":[{"role":"user","content":"Hello"}],"max_tokens":3,"stream":true,
             "stream_options":{"include_usage":true,"continuous_usage_stats":true}}
            """);

        var chunks = SimulatedWorkerFixture.ParseChunks(events);
        Assert.Equal(5, chunks.Count);
        for (var k = 0; k <= 3; k++)
        {
            Assert.Equal(
                $$"""{"prompt_tokens":{{HelloPromptTokens}},"total_tokens":{{HelloPromptTokens + k}},"completion_tokens":{{k}}}""",
                chunks[k].GetProperty("usage").GetRawText());
        }

        Assert.Equal(3, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Without_include_usage_no_chunk_mentions_usage()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/chat/completions", """
            {"model":"m","messages":[{"role":"user","content":"Hello"}],"max_tokens":2,"stream":true,
             "stream_options":{"include_usage":false,"continuous_usage_stats":true}}
            """);

        var chunks = SimulatedWorkerFixture.ParseChunks(events);
        Assert.Equal(3, chunks.Count);
        Assert.All(chunks, c => Assert.False(c.TryGetProperty("usage", out _)));
    }

    [Fact]
    public async Task N_choices_interleave_per_step_and_usage_counts_all_of_them()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/chat/completions", """
            {"model":"m","messages":[{"role":"user","content":"Hello"}],"max_completion_tokens":3,"max_tokens":99,
             "n":2,"stream":true,"stream_options":{"include_usage":true}}
            """);

        var chunks = SimulatedWorkerFixture.ParseChunks(events);
        var choices = chunks[..^1].Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal([0, 1, 0, 1, 0, 1, 0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices[..2], c => Assert.Equal("assistant", c.GetProperty("delta").GetProperty("role").GetString()));
        Assert.Equal(
            [" The", " The", " quick", " quick", " brown", " brown"],
            choices[2..].Select(c => c.GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal(
            [null, null, null, null, "length", "length"],
            choices[2..].Select(c => c.GetProperty("finish_reason").GetString()));
        Assert.Equal(6, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Unary_response_has_vllm_shape()
    {
        var body = await worker.PostUnaryAsync("/v1/chat/completions", """
            {"model":"my-model","messages":[{"role":"system","content":"Hello"},{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"image_url","image_url":{"url":"x"}}]}],
             "max_tokens":3,"n":2}
            """);

        var id = body.GetProperty("id").GetString()!;
        var created = body.GetProperty("created").GetInt64();
        var choice = """{"message":{"role":"assistant","content":" The quick brown","tool_calls":[]},"logprobs":null,"finish_reason":"length","stop_reason":null}""";
        // "HelloHello" is 10 bytes = 3 tokens, plus 4 per message.
        Assert.Equal(
            $$"""{"id":"{{id}}","object":"chat.completion","created":{{created}},"model":"my-model","choices":["""
            + """{"index":0,""" + choice[1..] + """,{"index":1,""" + choice[1..]
            + """],"usage":{"prompt_tokens":11,"total_tokens":17,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":0}}}""",
            body.GetRawText());
    }

    [Fact]
    public async Task Missing_model_is_a_vllm_400()
    {
        using var response = await worker.PostAsync("/v1/chat/completions", """{"messages":[{"role":"user","content":"Hi"}]}""");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(
            """{"object":"error","message":"Field 'model' is required and must be a string.","type":"BadRequestError","param":null,"code":400}""",
            await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Invalid_json_is_a_vllm_400()
    {
        using var response = await worker.PostAsync("/v1/chat/completions", """{"model":"m",""");

        Assert.Equal(400, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", error.RootElement.GetProperty("object").GetString());
        Assert.Equal("BadRequestError", error.RootElement.GetProperty("type").GetString());
        Assert.Equal(400, error.RootElement.GetProperty("code").GetInt32());
    }
}

using System.Text.Json;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class CompletionsTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Stream_has_text_chunks_without_role_chunk_and_final_usage()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/completions", """
            {"model":"base","prompt":"Once upon","max_tokens":2,"stream":true,"stream_options":{"include_usage":true}}
            """);

        var chunks = SimulatedWorkerFixture.ParseChunks(events);
        Assert.Equal(3, chunks.Count);
        var id = chunks[0].GetProperty("id").GetString()!;
        var created = chunks[0].GetProperty("created").GetInt64();
        Assert.StartsWith("cmpl-", id, StringComparison.Ordinal);
        var head = $$"""{"id":"{{id}}","object":"text_completion","created":{{created}},"model":"base","choices":""";
        Assert.Equal(head + """[{"index":0,"text":" The","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}""", events[0].Data);
        Assert.Equal(head + """[{"index":0,"text":" quick","logprobs":null,"finish_reason":"length","stop_reason":null}],"usage":null}""", events[1].Data);
        // "Once upon" is 9 bytes = 3 tokens; no chat template.
        Assert.Equal(head + """[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":0}}}""", events[2].Data);
    }

    [Fact]
    public async Task Unary_joins_prompt_array_and_defaults_max_tokens()
    {
        var body = await worker.PostUnaryAsync("/v1/completions", """{"model":"base","prompt":["abcd","efgh"]}""");

        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        var choice = body.GetProperty("choices")[0];
        Assert.Equal(
            """{"index":0,"text":" The quick brown fox jumps over the lazy dog while simulated workers stream tokens to eager","logprobs":null,"finish_reason":"length","stop_reason":null}""",
            choice.GetRawText());
        Assert.Equal(
            """{"prompt_tokens":2,"total_tokens":18,"completion_tokens":16,"prompt_tokens_details":{"cached_tokens":0}}""",
            body.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Missing_model_is_a_vllm_400()
    {
        using var response = await worker.PostAsync("/v1/completions", """{"prompt":"x"}""");

        Assert.Equal(400, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("BadRequestError", error.RootElement.GetProperty("type").GetString());
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// Unary (non-streaming) chat and completions through the whole app: the client gets the worker's
/// JSON byte for byte, and the tokens come from <c>usage</c> with no TTFT or ITL (SPEC §2).
/// </summary>
public sealed class UnaryTests
{
    private const string Usage = """{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":16}}""";

    private const string ChatChoices = """[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"The sky is blue because of Rayleigh scattering.","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}]""";

    private const string CompletionChoices = """[{"index":0,"text":" because of Rayleigh scattering.","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_logprobs":null}]""";

    public static TheoryData<string, string, string> Shapes => new()
    {
        // vLLM's own order: usage after choices.
        { "/v1/chat/completions", "chat_completions", $$"""{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,"model":"llama-3-8b","choices":{{ChatChoices}},"usage":{{Usage}},"prompt_logprobs":null,"kv_transfer_params":null}""" },
        // Usage before choices, and pretty-printed.
        { "/v1/chat/completions", "chat_completions", $$"""
            {
              "usage" : {{Usage}},
              "id": "chatcmpl-2",
              "object": "chat.completion",
              "model": "llama-3-8b",
              "choices": {{ChatChoices}}
            }
            """ },
        { "/v1/completions", "completions", $$"""{"id":"cmpl-1","object":"text_completion","created":1730000000,"model":"llama-3-8b","choices":{{CompletionChoices}},"usage":{{Usage}}}""" },
        { "/v1/completions", "completions", $$"""{"usage":{{Usage}},"id":"cmpl-2","object":"text_completion","created":1730000000,"model":"llama-3-8b","choices":{{CompletionChoices}}}""" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Unary_body_is_byte_identical_and_tokens_come_from_usage(string path, string endpoint, string workerBody)
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath(path).UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, path, """{"model":"llama-3-8b","prompt":"Why is the sky blue?","max_tokens":7}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(workerBody), received);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        const string model = "llama-3-8b";
        delta.AssertOneRequest(model, endpoint, "unary");
        Assert.Equal((1, 42), delta.Histogram("input_sequence_tokens", model));
        Assert.Equal((1, 7), delta.Histogram("output_sequence_tokens", model));
        Assert.Equal((1, 16), delta.Histogram("cached_sequence_length", model));
        Assert.Equal(7, delta.Value("output_tokens_total", ("model", model)));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", model)));
        Assert.Equal(0, delta.Value("inter_token_latency_seconds_count", ("model", model)));
    }

    [Fact]
    public async Task Unary_body_larger_than_the_inspection_cap_passes_through_and_is_counted_without_tokens()
    {
        var content = new string('x', 100 * 1024);
        var workerBody = $$"""{"id":"chatcmpl-3","object":"chat.completion","created":1730000000,"model":"big","choices":[{"index":0,"message":{"role":"assistant","content":"{{content}}"},"finish_reason":"length"}],"usage":{{Usage}}}""";
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:MaxInspectedEventBytes=2048");
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", """{"model":"big","messages":[]}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(workerBody), received);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest("big", "chat_completions", "unary");
        Assert.Equal((0, 0), delta.Histogram("input_sequence_tokens", "big"));
        Assert.Equal((0, 0), delta.Histogram("output_sequence_tokens", "big"));
        Assert.Equal((0, 0), delta.Histogram("cached_sequence_length", "big"));
        Assert.Equal(0, delta.Value("output_tokens_total", ("model", "big")));

        // The sidecar is not stuck on the big body: a small one afterwards is metered in full.
        worker.Reset();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody($$"""{"id":"x","choices":{{ChatChoices}},"usage":{{Usage}}}"""));
        before = delta.After;
        await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", """{"model":"big","messages":[]}""");
        delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest("big", "chat_completions", "unary");
        Assert.Equal((1, 42), delta.Histogram("input_sequence_tokens", "big"));
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary><c>POST /v1/embeddings</c>: metered as <c>embeddings</c>, input tokens only.</summary>
public sealed class EmbeddingsTests
{
    [Theory]
    // vLLM reports completion_tokens 0 and a null prompt_tokens_details on embeddings.
    [InlineData("""{"prompt_tokens":9,"total_tokens":9,"completion_tokens":0,"prompt_tokens_details":null}""")]
    // OpenAI's own shape.
    [InlineData("""{"prompt_tokens":9,"total_tokens":9}""")]
    public async Task Embeddings_observe_isl_from_usage_and_no_output(string usage)
    {
        var workerBody = $$"""{"id":"embd-1","object":"list","created":1730000000,"model":"e5-large","data":[{"index":0,"object":"embedding","embedding":[0.0123,-0.0456,0.0789,1e-05]},{"index":1,"object":"embedding","embedding":[0.5,-0.25,0.125,0.0]}],"usage":{{usage}}}""";
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/embeddings").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();
        const string requestBody = """{"model":"e5-large","input":["the sky","is blue"],"encoding_format":"float"}""";

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/embeddings", requestBody);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(workerBody), received);
        Assert.Equal(requestBody, Encoding.UTF8.GetString(worker.LogEntries.Single().RequestMessage.BodyAsBytes!));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        const string model = "e5-large";
        delta.AssertOneRequest(model, "embeddings", "unary");
        Assert.Equal((1, 9), delta.Histogram("input_sequence_tokens", model));
        Assert.Equal((0, 0), delta.Histogram("output_sequence_tokens", model));
        Assert.Equal((0, 0), delta.Histogram("cached_sequence_length", model));
        Assert.Equal(0, delta.Value("output_tokens_total", ("model", model)));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", model)));
        Assert.Equal(0, delta.Value("inter_token_latency_seconds_count", ("model", model)));
    }

    [Fact]
    public async Task Large_float_embeddings_are_read_incrementally_for_their_usage()
    {
        // 16 x 4096 floats: far larger than the inspection cap, but no single JSON token is.
        var random = new Random(7);
        var data = string.Join(",", Enumerable.Range(0, 16).Select(i =>
        {
            var vector = string.Join(",", Enumerable.Range(0, 4096).Select(_ => (random.NextDouble() - 0.5).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            return $$"""{"index":{{i}},"object":"embedding","embedding":[{{vector}}]}""";
        }));
        var workerBody = $$"""{"id":"embd-2","object":"list","created":1730000000,"model":"e5-large","data":[{{data}}],"usage":{"prompt_tokens":1234,"total_tokens":1234} }""";
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/embeddings").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:MaxInspectedEventBytes=2048");
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/embeddings", """{"model":"e5-large","input":"x"}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(Encoding.UTF8.GetBytes(workerBody).AsSpan().SequenceEqual(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest("e5-large", "embeddings", "unary");
        Assert.Equal((1, 1234), delta.Histogram("input_sequence_tokens", "e5-large"));
        Assert.Equal((0, 0), delta.Histogram("output_sequence_tokens", "e5-large"));
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Dynamo.Sidecar.IntegrationTests.Shapes;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.BadInput;

/// <summary>
/// Valid request bodies at the edge of what a JSON reader accepts by default: they are neither "not JSON"
/// nor "not an object" (SPEC §4), so the sidecar must still read their model and force usage on streams.
/// </summary>
public sealed class DeepRequestTests
{
    private const string Model = "llama-3-8b";

    [Theory]
    [InlineData(10)]
    // A structured-output JSON schema nested this deep is valid JSON that vLLM (Python's json) accepts;
    // System.Text.Json's default reader stops at depth 64.
    [InlineData(100)]
    public async Task Deeply_nested_streaming_request_is_still_inspected(int depth)
    {
        var stream = VllmStream.Chat(new Generation(Model, [" a", " b"], PromptTokens: 7, CachedTokens: 0));
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream").WithBody(stream.Body));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        var body = $$"""{"model":"{{Model}}","stream":true,"response_format":{"type":"json_schema","json_schema":{{nested}}},"messages":[]}""";

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal(200, (int)response.StatusCode);
        var upstream = Encoding.UTF8.GetString(worker.LogEntries.Single().RequestMessage.BodyAsBytes!);
        Assert.Equal(body[..^1] + ",\"stream_options\":{\"include_usage\":true}}", upstream);
        Assert.True(JsonNode.Parse(upstream, documentOptions: new() { MaxDepth = 1000 }) is JsonObject);
        Assert.Equal(stream.BodyWithoutUsage, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "chat_completions", "stream");
        Assert.Equal((1, 7), delta.Histogram("input_sequence_tokens", Model));
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using Dynamo.Sidecar.Testing.Workers;
using static Dynamo.Sidecar.Testing.Workers.SseFrame;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// SPEC §2 through the whole proxy: an error a worker writes inside its 200 stream ends the request as an error
/// (even when <c>[DONE]</c> follows) and reaches the client unchanged; TGI's <c>"finish_reason": ""</c> is no finish.
/// </summary>
public sealed class StreamErrorTests
{
    private const string M = "llama-3-8b";
    private static readonly VllmStream Vllm = new(M);

    [Theory]
    // vLLM and SGLang: create_streaming_error_response, then [DONE].
    [InlineData("""{"error":{"object":"error","message":"The decoder prompt cannot be empty","type":"BadRequestError","param":null,"code":400}}""", "validation")]
    [InlineData("""{"error":{"object":"error","message":"Engine loop has died","type":"InternalServerError","param":null,"code":500}}""", "internal")]
    // TGI: a string error with its own type field.
    [InlineData("""{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}""", "internal")]
    public async Task Error_event_then_done_is_an_error_with_the_type_its_code_names(string error, string errorType)
    {
        var head = Event(Vllm.Role()) + Event(Vllm.Content("Hi"));
        var stream = head + Event(error) + Done();
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream").WithBody(stream));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(M, "chat_completions", "stream", status: "error", errorType: errorType);
        Assert.Equal(1, delta.Value("output_tokens_total", ("model", M)));
    }

    [Theory]
    [InlineData("", "error", "internal")]
    [InlineData("length", "success", "")]
    public async Task Tgi_completions_stream_without_done_ends_well_only_after_a_real_finish_reason(string lastFinishReason, string status, string errorType)
    {
        static string Tgi(string text, string finish) =>
            Event($$"""{"id":"","object":"text_completion","created":1730000000,"model":"{{M}}","system_fingerprint":"2.4.1-native","choices":[{"index":0,"text":"{{text}}","logprobs":null,"finish_reason":"{{finish}}"}]}""");
        var stream = Tgi("The", "") + Tgi(" sky", "") + Tgi(" is", lastFinishReason);
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream").WithBody(stream));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/completions", $$"""{"model":"{{M}}","prompt":"Why","stream":true}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(M, "completions", "stream", status, errorType);
        Assert.Equal(3, delta.Value("output_tokens_total", ("model", M)));
    }
}

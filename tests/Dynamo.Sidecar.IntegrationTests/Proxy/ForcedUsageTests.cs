using System.Text;
using System.Text.Json.Nodes;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Proxy;

/// <summary>
/// SPEC §1.3–1.4 through the whole app: what the worker receives (WireMock's request log), what the
/// client receives (raw bytes), and what <c>/metrics</c> then says.
/// </summary>
public sealed class ForcedUsageTests : IAsyncLifetime
{
    private static readonly WorkerStream Stream = VllmStream.Chat(new Generation("llama-3-8b", [" The", " sky", " is", " blue", "."], PromptTokens: 42, CachedTokens: 16));

    private WireMockServer _worker = null!;
    private SidecarHost _sidecar = null!;

    public async Task InitializeAsync()
    {
        _worker = ScriptedWorker.Start();
        _worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream; charset=utf-8").WithBody(Stream.Body));
        _sidecar = await SidecarHost.StartAsync(_worker.Url!);
    }

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        _worker.Stop();
    }

    [Fact]
    public async Task Stream_without_stream_options_gets_usage_forced_upstream_and_hidden_from_the_client()
    {
        const string body = """{"model":"llama-3-8b","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true,"temperature":0.2,"max_tokens":5}""";

        var (response, received) = await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(Stream.BodyWithoutUsage, Encoding.UTF8.GetString(received));

        var upstream = SingleUpstreamRequest();
        var sent = JsonNode.Parse(upstream.Body)!.AsObject();
        Assert.True(sent["stream_options"]!["include_usage"]!.GetValue<bool>());
        sent.Remove("stream_options");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), sent), "every other field reaches the worker as the client wrote it");
        Assert.Equal(body.TrimEnd('}') + ",\"stream_options\":{\"include_usage\":true}}", upstream.Body);
        Assert.Equal(Encoding.UTF8.GetByteCount(upstream.Body).ToString(), upstream.ContentLength);
    }

    [Fact]
    public async Task Stream_metrics_match_the_worker_usage()
    {
        const string body = """{"model":"llama-3-8b","messages":[{"role":"user","content":"hi"}],"stream":true}""";

        await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        var metrics = await _sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") == 1);
        var model = ("model", "llama-3-8b");
        Assert.Equal(1, metrics.Value("dynamo_frontend_requests_started_total", model, ("endpoint", "chat_completions"), ("request_type", "stream")));
        Assert.Equal(1, metrics.Value("dynamo_frontend_requests_total", model, ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")));
        Assert.Equal(5, metrics.Value("dynamo_frontend_output_tokens_total", model));
        Assert.Equal(1, metrics.Value("dynamo_frontend_input_sequence_tokens_count", model));
        Assert.Equal(42, metrics.Value("dynamo_frontend_input_sequence_tokens_sum", model));
        Assert.Equal(5, metrics.Value("dynamo_frontend_output_sequence_tokens_sum", model));
        Assert.Equal(16, metrics.Value("dynamo_frontend_cached_sequence_length_sum", model));
        Assert.Equal(1, metrics.Value("dynamo_frontend_time_to_first_token_seconds_count", model));
        Assert.Equal(4, metrics.Value("dynamo_frontend_inter_token_latency_seconds_count", model));
        Assert.Equal(1, metrics.Value("dynamo_frontend_request_duration_seconds_count", model));
        Assert.Equal(0, metrics.Value("dynamo_frontend_inflight_requests", model));
        Assert.Equal(0, metrics.Value("dynamo_frontend_active_requests", model));
        Assert.Equal(0, metrics.Value("dynamo_frontend_queued_requests", model));
        Assert.Equal(0, metrics.Value("dynamo_frontend_disconnected_clients"));
    }

    [Fact]
    public async Task Client_that_asked_for_usage_gets_the_stream_untouched_and_its_body_unchanged()
    {
        const string body = """{"model":"llama-3-8b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";

        var (_, received) = await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal(Stream.Body, Encoding.UTF8.GetString(received));
        Assert.Equal(body, SingleUpstreamRequest().Body);
    }

    [Fact]
    public async Task Include_usage_false_is_turned_on_upstream_and_the_usage_chunk_removed()
    {
        const string body = """{"model":"llama-3-8b","stream":true,"stream_options":{"include_usage":false},"messages":[]}""";

        var (_, received) = await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal(Stream.BodyWithoutUsage, Encoding.UTF8.GetString(received));
        Assert.Equal(body.Replace("\"include_usage\":false", "\"include_usage\":true"), SingleUpstreamRequest().Body);
    }

    [Fact]
    public async Task Existing_stream_options_are_merged_not_replaced()
    {
        const string body = """{"model":"llama-3-8b","stream":true,"stream_options":{ "continuous_usage_stats": true },"messages":[]}""";

        var (_, received) = await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal(Stream.BodyWithoutUsage, Encoding.UTF8.GetString(received));
        Assert.Equal(
            """{"model":"llama-3-8b","stream":true,"stream_options":{"include_usage":true, "continuous_usage_stats": true },"messages":[]}""",
            SingleUpstreamRequest().Body);
    }

    [Fact]
    public async Task Null_stream_options_become_an_object()
    {
        const string body = """{"model":"llama-3-8b","stream":true,"stream_options":null}""";

        await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        Assert.Equal("""{"model":"llama-3-8b","stream":true,"stream_options":{"include_usage":true}}""", SingleUpstreamRequest().Body);
    }

    [Theory]
    [InlineData("""{"model":"llama-3-8b","messages":[]}""")]
    [InlineData("""{"model":"llama-3-8b","stream":false,"messages":[]}""")]
    [InlineData("{\n  \"model\" : \"llama-3-8b\",\n  \"stream\" : false\n}\n")]
    public async Task Non_streaming_bodies_reach_the_worker_byte_for_byte(string body)
    {
        await Requests.PostAsync(_sidecar.Client, "/v1/chat/completions", body);

        var upstream = SingleUpstreamRequest();
        Assert.Equal(body, upstream.Body);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(), upstream.ContentLength);
    }

    [Fact]
    public async Task Accept_encoding_is_not_sent_upstream_on_metered_routes()
    {
        var request = Requests.Post("/v1/chat/completions", """{"model":"m","stream":true}""");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, br");

        await Requests.SendAsync(_sidecar.Client, request);

        Assert.DoesNotContain(_worker.LogEntries.Single().RequestMessage.Headers!.Keys, k => k.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase));
    }

    private (string Body, string? ContentLength) SingleUpstreamRequest()
    {
        var message = _worker.LogEntries.Single().RequestMessage;
        var length = message.Headers!.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        return (Encoding.UTF8.GetString(message.BodyAsBytes ?? []), length);
    }
}

using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using Microsoft.Extensions.Options;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Admin;

/// <summary><c>Sidecar:Metrics:ConstantLabels</c>: on every <c>dynamo_frontend_*</c> sample of the admin <c>/metrics</c>, on no process metric.</summary>
public sealed class ConstantLabelsTests
{
    private static readonly WorkerStream Stream = VllmStream.Chat(new Generation("qwen3", [" The", " sky"], PromptTokens: 9, CachedTokens: 4));

    [Fact]
    public async Task Every_sidecar_sample_carries_the_constant_labels_and_the_process_metrics_do_not()
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200));
        worker.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithBody("""{"object":"list","data":[{"id":"qwen3","max_model_len":4096}]}"""));
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream; charset=utf-8").WithBody(Stream.Body));
        worker.Given(Request.Create().WithPath("/v1/completions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(429).WithBody("""{"error":{"message":"busy","code":429}}"""));
        await using var sidecar = await SidecarHost.StartAsync(
            worker.Url!,
            "Sidecar:ReadinessInterval=00:00:01",
            "Sidecar:Metrics:ConstantLabels:dynamo_namespace=team-a",
            "Sidecar:Metrics:ConstantLabels:cluster=eu-west-1");
        var before = await sidecar.ScrapeAsync();

        var (stream, _) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", """{"model":"qwen3","stream":true,"messages":[]}""");
        var (busy, _) = await Requests.PostAsync(sidecar.Client, "/v1/completions", """{"model":"qwen3","prompt":"x"}""");
        Assert.Equal(200, (int)stream.StatusCode);
        Assert.Equal(429, (int)busy.StatusCode);
        await sidecar.ScrapeAfterAsync(before, requests: 2);
        var metrics = await sidecar.ScrapeUntilAsync(m => m.Samples.Any(s => s.Name == "dynamo_frontend_model_ready"));

        var sidecarSamples = metrics.Samples.Where(s => s.Name.StartsWith("dynamo_frontend_", StringComparison.Ordinal)).ToList();
        var processSamples = metrics.Samples.Where(s => !s.Name.StartsWith("dynamo_frontend_", StringComparison.Ordinal)).ToList();
        Assert.All(sidecarSamples, s =>
        {
            Assert.Equal("team-a", s.Labels.GetValueOrDefault("dynamo_namespace"));
            Assert.Equal("eu-west-1", s.Labels.GetValueOrDefault("cluster"));
        });
        Assert.NotEmpty(processSamples);
        Assert.All(processSamples, s => Assert.False(s.Labels.ContainsKey("dynamo_namespace") || s.Labels.ContainsKey("cluster"), s.Name));
        // Every kind of family is among them: counters, gauges with and without labels, histograms, the model gauges.
        foreach (var name in (string[])["requests_started_total", "requests_total", "output_tokens_total", "inflight_requests", "disconnected_clients",
                     "time_to_first_token_seconds_bucket", "cached_sequence_length_sum", "model_ready", "model_context_length"])
        {
            Assert.Contains(sidecarSamples, s => s.Name == "dynamo_frontend_" + name);
        }

        Assert.Equal(1, metrics.Value("dynamo_frontend_requests_total",
            ("model", "qwen3"), ("endpoint", "completions"), ("request_type", "unary"), ("status", "error"), ("error_type", "overload"),
            ("dynamo_namespace", "team-a"), ("cluster", "eu-west-1")));
        Assert.Equal(2, metrics.Value("dynamo_frontend_output_tokens_total", ("model", "qwen3"), ("dynamo_namespace", "team-a"), ("cluster", "eu-west-1")));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("error_type")]
    [InlineData("__name__")]
    [InlineData("dynamo-namespace")]
    [InlineData("9lives")]
    public async Task A_bad_label_name_fails_start_up_naming_the_key(string name)
    {
        using var worker = ScriptedWorker.Start();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => SidecarHost.StartAsync(worker.Url!, $"Sidecar:Metrics:ConstantLabels:{name}=x"));

        Assert.Contains($"Sidecar:Metrics:ConstantLabels:{name}", failure.Message, StringComparison.Ordinal);
    }
}

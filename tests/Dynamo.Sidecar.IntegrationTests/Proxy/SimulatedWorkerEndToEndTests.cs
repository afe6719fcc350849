using System.Net.ServerSentEvents;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.SimulatedWorker;
using Microsoft.AspNetCore.Builder;

namespace Dynamo.Sidecar.IntegrationTests.Proxy;

/// <summary>The README's promise: a stream through the sidecar to the simulated worker, then its metrics.</summary>
public sealed class SimulatedWorkerEndToEndTests : IAsyncLifetime
{
    private WebApplication _worker = null!;
    private SidecarHost _sidecar = null!;

    public async Task InitializeAsync()
    {
        _worker = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=500", "--Worker:TimeToFirstTokenMs=5"]);
        await _worker.StartAsync();
        _sidecar = await SidecarHost.StartAsync(_worker.Urls.First());
    }

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task A_streamed_chat_shows_no_usage_to_the_client_and_every_metric_on_the_admin_port()
    {
        var prompt = string.Concat(Enumerable.Repeat("Tell me about prefix caching in vLLM. ", 20));
        var body = JsonSerializer.Serialize(new { model = "sim", stream = true, max_tokens = 12, messages = new[] { new { role = "user", content = prompt } } });

        for (var i = 0; i < 2; i++)
        {
            var response = await _sidecar.Client.SendAsync(Requests.Post("/v1/chat/completions", body), HttpCompletionOption.ResponseHeadersRead);
            var events = await SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().Select(e => e.Data).ToListAsync();

            Assert.Equal("[DONE]", events[^1]);
            var chunks = events.SkipLast(1).Select(d => JsonDocument.Parse(d).RootElement).ToList();
            Assert.All(chunks, c => Assert.NotEqual(0, c.GetProperty("choices").GetArrayLength()));
            Assert.Equal(12, chunks.Count(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) && t.GetString()!.Length > 0));
        }

        var metrics = await _sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") == 2);
        var model = ("model", "sim");
        Assert.Equal(24, metrics.Value("dynamo_frontend_output_tokens_total", model));
        Assert.Equal(2, metrics.Value("dynamo_frontend_time_to_first_token_seconds_count", model));
        Assert.True(metrics.Value("dynamo_frontend_time_to_first_token_seconds_sum", model) > 0.005);
        Assert.Equal(22, metrics.Value("dynamo_frontend_inter_token_latency_seconds_count", model));
        Assert.Equal(2, metrics.Value("dynamo_frontend_input_sequence_tokens_count", model));
        Assert.True(metrics.Value("dynamo_frontend_input_sequence_tokens_sum", model) > 300);
        Assert.Equal(24, metrics.Value("dynamo_frontend_output_sequence_tokens_sum", model));
        Assert.Equal(2, metrics.Value("dynamo_frontend_cached_sequence_length_count", model));
        Assert.True(metrics.Value("dynamo_frontend_cached_sequence_length_sum", model) > 0, "the repeated prompt hits the prefix cache");
        Assert.Equal(0, metrics.Value("dynamo_frontend_inflight_requests", model));
    }
}

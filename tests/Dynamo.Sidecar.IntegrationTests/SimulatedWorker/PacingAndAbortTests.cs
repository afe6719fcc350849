using System.Diagnostics;
using System.Net.ServerSentEvents;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class PacingAndAbortTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Header_rate_paces_tokens()
    {
        var stopwatch = Stopwatch.StartNew();
        var (_, events) = await worker.PostStreamAsync(
            "/v1/completions",
            """{"model":"m","prompt":"x","max_tokens":5,"stream":true}""",
            ("x-sim-tokens-per-second", "20"),
            ("x-sim-ttft-ms", "0"));

        Assert.Equal(6, events.Count);
        // Four gaps of 50 ms after the first token; lenient, timers only ever fire late.
        Assert.True(stopwatch.ElapsedMilliseconds >= 180, $"took {stopwatch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Client_disconnect_stops_generation_and_is_counted()
    {
        var abortedBefore = await worker.ReadMetricAsync("vllm:request_aborted_total");

        using (var response = await worker.PostAsync(
            "/v1/chat/completions",
            """{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":1000,"stream":true}""",
            ("x-sim-tokens-per-second", "20")))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            await using var events = SseParser.Create(stream).EnumerateAsync().GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync());
        }

        var deadline = Stopwatch.StartNew();
        while (await worker.ReadMetricAsync("vllm:request_aborted_total") == abortedBefore
            || await worker.ReadMetricAsync("vllm:num_requests_running") != 0)
        {
            // Generous: the whole suite runs in parallel on two cores.
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "abort was not counted, or generation did not stop");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Invalid_pacing_header_is_a_400()
    {
        using var response = await worker.PostAsync(
            "/v1/completions", """{"model":"m","prompt":"x"}""", ("x-sim-tokens-per-second", "fast"));

        Assert.Equal(400, (int)response.StatusCode);
    }
}

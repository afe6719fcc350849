using System.Diagnostics;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>
/// SPEC §1.7 and §2: a client that leaves is counted as a disconnect and a cancellation, its tokens so
/// far are its output length, and the worker's request is aborted at once so it stops generating.
/// </summary>
public sealed class ClientDisconnectTests
{
    private static readonly VllmStream Vllm = new(Model);

    private const string Model = "leaving-model";

    /// <summary>How soon the worker must see its connection go once the client has left (loopback, but a loaded machine).</summary>
    private static readonly TimeSpan AbortDeadline = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private static readonly string Role = SseFrame.Event(Vllm.Role());

    [Fact]
    public async Task Client_leaving_mid_stream_aborts_the_worker_and_counts_a_cancelled_disconnect()
    {
        const int eventsToRead = 5;
        var sent = 0;
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(Role));
            for (var i = 0; i < 1000 && !exchange.Aborted.IsCompleted; i++)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(SseFrame.Event(Vllm.Content($" t{i}"))));
                Interlocked.Increment(ref sent);
                await Task.Delay(50);
            }
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        using var client = FaultStreams.LeavingClient(sidecar.ProxyAddress);
        var before = await sidecar.ScrapeAsync();

        var response = await client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true, maxTokens: 1000)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var received = new MemoryStream();
        using (var timeout = new CancellationTokenSource(Generous))
        {
            await FaultStreams.ReadUntilAsync(await response.Content.ReadAsStreamAsync(), received,
                text => FaultStreams.CountOccurrences(text, "\"content\":\" t") >= eventsToRead, timeout.Token);
        }

        response.Dispose();
        var left = Stopwatch.StartNew();
        var exchange = Assert.Single(worker.Exchanges);
        await AssertAbortedSoonAsync(exchange, left);

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertCancelledDisconnect(delta);
        Assert.Equal(1, delta.Value(OutputSequenceCount, ("model", Model)));
        var outputLength = delta.Value(OutputSequenceSum, ("model", Model));
        Assert.InRange(outputLength, eventsToRead, Volatile.Read(ref sent));
        Assert.Equal(outputLength, delta.Value(OutputTokens, ("model", Model)));
    }

    [Fact]
    public async Task Client_leaving_before_the_response_headers_aborts_the_worker_and_counts_a_cancelled_disconnect()
    {
        var answered = false;
        await using var worker = new RawSocketWorker(async exchange =>
        {
            // A long prefill: the worker would answer much later, unless its request is aborted first.
            await Task.WhenAny(exchange.Aborted, Task.Delay(TimeSpan.FromSeconds(10)));
            if (exchange.Aborted.IsCompleted)
            {
                return;
            }

            answered = true;
            var stream = VllmStream.Chat(new Generation(Model, [" late"], 3, 0));
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(stream.Bytes);
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        using var client = FaultStreams.LeavingClient(sidecar.ProxyAddress);
        var before = await sidecar.ScrapeAsync();

        using var leave = new CancellationTokenSource();
        var send = client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true)), HttpCompletionOption.ResponseHeadersRead, leave.Token);
        // Leave once the worker holds the request: 200 ms after it arrived.
        var deadline = Stopwatch.StartNew();
        while (worker.Exchanges.IsEmpty)
        {
            Assert.True(deadline.Elapsed < Generous, "the request never reached the worker");
            await Task.Delay(10);
        }

        await Task.Delay(200);
        leave.Cancel();
        var left = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        var exchange = Assert.Single(worker.Exchanges);
        await AssertAbortedSoonAsync(exchange, left);
        Assert.False(answered, "the worker was left to answer a request nobody waits for");

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertCancelledDisconnect(delta);
        Assert.Equal(0, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(0, delta.Value(OutputSequenceCount, ("model", Model)));
        Assert.Equal(0, delta.Value(TimeToFirstTokenCount, ("model", Model)));
    }

    [Fact]
    public async Task Client_leaving_after_the_last_content_event_while_the_worker_delays_usage_is_a_cancelled_disconnect()
    {
        var stream = VllmStream.Chat(new Generation(Model, [" one", " two", " three", " four"], PromptTokens: 7, CachedTokens: 0));
        var contentEvents = stream.Texts(WorkerEventKind.Content).ToList();
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(stream.Join(WorkerEventKind.Role)));
            foreach (var e in contentEvents)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(e));
            }

            await Task.WhenAny(exchange.Aborted, Task.Delay(TimeSpan.FromSeconds(10)));
            if (!exchange.Aborted.IsCompleted)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(stream.Join(WorkerEventKind.UsageOnly) + stream.Join(WorkerEventKind.Done)));
                await exchange.SendEndAsync();
            }
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        using var client = FaultStreams.LeavingClient(sidecar.ProxyAddress);
        var before = await sidecar.ScrapeAsync();

        var response = await client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var expected = stream.Join(WorkerEventKind.Role) + string.Concat(contentEvents);
        var received = new MemoryStream();
        using (var timeout = new CancellationTokenSource(Generous))
        {
            await FaultStreams.ReadUntilAsync(await response.Content.ReadAsStreamAsync(), received, text => text.Length >= expected.Length, timeout.Token);
        }

        Assert.Equal(expected, Encoding.UTF8.GetString(received.ToArray()));
        response.Dispose();
        var left = Stopwatch.StartNew();
        var exchange = Assert.Single(worker.Exchanges);
        await AssertAbortedSoonAsync(exchange, left);

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertCancelledDisconnect(delta);
        Assert.Equal(4, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(1, delta.Value(OutputSequenceCount, ("model", Model)));
        Assert.Equal(4, delta.Value(OutputSequenceSum, ("model", Model)));
    }

    private static async Task AssertAbortedSoonAsync(RawExchange exchange, Stopwatch sinceLeft)
    {
        var aborted = await Task.WhenAny(exchange.Aborted, Task.Delay(Generous));
        Assert.True(aborted == exchange.Aborted, "the worker's request was never aborted");
        Assert.True(sinceLeft.Elapsed < AbortDeadline, $"the worker's request was aborted {sinceLeft.Elapsed.TotalSeconds:F1} s after the client left");
    }

    private static void AssertCancelledDisconnect(MetricsDelta delta)
    {
        AssertOutcome(delta, Model, "chat_completions", "stream", "cancelled");
        Assert.Equal(1, delta.Value(DisconnectedClients));
        Assert.Equal(1, delta.Value(Cancellations, ("model", Model), ("endpoint", "chat_completions"), ("request_type", "stream")));
    }
}

using System.Net.ServerSentEvents;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.SimulatedWorker;
using Microsoft.AspNetCore.Builder;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>
/// 200 concurrent requests through one sidecar in front of the simulated worker: successful streams and
/// unary answers, requests the worker rejects, and streams their clients abandon. Each kind has a model
/// name of its own, so every kind's counters can be checked exactly, and nothing may be left in flight.
/// </summary>
public sealed class ConcurrentMixTests : IAsyncLifetime
{
    private const string StreamModel = "mix-stream";
    private const string UnaryModel = "mix-unary";
    private const string CancelModel = "mix-cancel";
    private const string NoModel = "unknown_model";
    private const int Streams = 70;
    private const int Unaries = 50;
    private const int Rejected = 30; // half streamed, half unary
    private const int Abandoned = 50;
    private const int ContentEventsBeforeLeaving = 2;

    private WebApplication _worker = null!;
    private SidecarHost _sidecar = null!;

    public async Task InitializeAsync()
    {
        _worker = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=200"]);
        await _worker.StartAsync();
        _sidecar = await SidecarHost.StartAsync(_worker.Urls.First());
    }

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        await _worker.DisposeAsync();
    }

    [Fact]
    public async Task Two_hundred_concurrent_mixed_requests_are_each_counted_once_and_leave_nothing_in_flight()
    {
        using var client = FaultStreams.LeavingClient(_sidecar.ProxyAddress);
        client.Timeout = TimeSpan.FromMinutes(2);
        var before = await _sidecar.ScrapeAsync();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var streams = Enumerable.Range(0, Streams).Select(i => Gated(go, () => StreamAsync(client, MaxTokens(i)))).ToList();
        var unaries = Enumerable.Range(0, Unaries).Select(i => Gated(go, () => UnaryAsync(client, MaxTokens(i)))).ToList();
        var rejected = Enumerable.Range(0, Rejected).Select(i => Gated(go, () => RejectedAsync(client, stream: i % 2 == 0))).ToList();
        var abandoned = Enumerable.Range(0, Abandoned).Select(_ => Gated(go, () => AbandonAsync(client))).ToList();
        go.SetResult();

        var streamTokens = await Task.WhenAll(streams);
        var unaryTokens = await Task.WhenAll(unaries);
        await Task.WhenAll(rejected);
        await Task.WhenAll(abandoned);

        const int total = Streams + Unaries + Rejected + Abandoned;
        var after = await _sidecar.ScrapeUntilAsync(m => m.Sum(RequestsTotal) - before.Sum(RequestsTotal) >= total && m.Sum(Inflight) == 0);
        var delta = new MetricsDelta(before, after);

        Assert.Equal(total, delta.Sum(RequestsStarted));
        Assert.Equal(total, delta.Sum(RequestsTotal));
        Assert.Equal(0, after.Sum(Inflight));
        Assert.Equal(0, after.Sum(Active));
        Assert.Equal(0, after.Sum(Queued));

        AssertOutcome(delta, StreamModel, "chat_completions", "stream", "", Streams);
        AssertOutcome(delta, UnaryModel, "chat_completions", "unary", "", Unaries);
        AssertOutcome(delta, CancelModel, "chat_completions", "stream", "cancelled", Abandoned);
        Assert.Equal(Rejected / 2, delta.Value(RequestsTotal, ("model", NoModel), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "error"), ("error_type", "validation")));
        Assert.Equal(Rejected / 2, delta.Value(RequestsTotal, ("model", NoModel), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "error"), ("error_type", "validation")));
        Assert.Equal(Rejected, delta.Sum(RequestsTotal, ("model", NoModel)));
        AssertGaugesZero(after, NoModel);

        Assert.Equal(Abandoned, delta.Value(DisconnectedClients));
        Assert.Equal(Abandoned, delta.Sum(Cancellations));
        Assert.Equal(Abandoned, delta.Value(Cancellations, ("model", CancelModel), ("endpoint", "chat_completions"), ("request_type", "stream")));

        Assert.Equal(streamTokens.Sum(), delta.Value(OutputTokens, ("model", StreamModel)));
        Assert.Equal(streamTokens.Sum(), delta.Value(OutputSequenceSum, ("model", StreamModel)));
        Assert.Equal(Streams, delta.Value(OutputSequenceCount, ("model", StreamModel)));
        Assert.Equal(Streams, delta.Value(InputSequenceCount, ("model", StreamModel)));
        Assert.Equal(Streams, delta.Value(TimeToFirstTokenCount, ("model", StreamModel)));

        Assert.Equal(unaryTokens.Sum(), delta.Value(OutputTokens, ("model", UnaryModel)));
        Assert.Equal(unaryTokens.Sum(), delta.Value(OutputSequenceSum, ("model", UnaryModel)));
        Assert.Equal(Unaries, delta.Value(InputSequenceCount, ("model", UnaryModel)));
        Assert.Equal(0, delta.Value(TimeToFirstTokenCount, ("model", UnaryModel)));

        Assert.True(delta.Value(OutputTokens, ("model", CancelModel)) >= Abandoned * ContentEventsBeforeLeaving,
            "every abandoned stream passed at least the events its client read");
        Assert.Equal(Abandoned, delta.Value(OutputSequenceCount, ("model", CancelModel)));
        Assert.Equal(0, delta.Value(OutputTokens, ("model", NoModel)));
    }

    private static int MaxTokens(int i) => 5 + (i % 10);

    private static async Task<T> Gated<T>(TaskCompletionSource go, Func<Task<T>> request)
    {
        await go.Task;
        return await request();
    }

    private static async Task<bool> Gated(TaskCompletionSource go, Func<Task> request)
    {
        await go.Task;
        await request();
        return true;
    }

    /// <summary>A stream read to its end; returns the content tokens the client received.</summary>
    private static async Task<int> StreamAsync(HttpClient client, int maxTokens)
    {
        using var response = await client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(StreamModel, stream: true, maxTokens)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var tokens = 0;
        var done = false;
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            if (item.Data == "[DONE]")
            {
                done = true;
                continue;
            }

            var choices = JsonDocument.Parse(item.Data).RootElement.GetProperty("choices");
            Assert.NotEqual(0, choices.GetArrayLength()); // the usage chunk the sidecar forced stays hidden
            if (choices[0].GetProperty("delta").TryGetProperty("content", out var content) && content.GetString() is { Length: > 0 })
            {
                tokens++;
            }
        }

        Assert.True(done, "the stream ended with [DONE]");
        Assert.Equal(maxTokens, tokens);
        return tokens;
    }

    /// <summary>A unary answer; returns its <c>completion_tokens</c>.</summary>
    private static async Task<int> UnaryAsync(HttpClient client, int maxTokens)
    {
        var (response, body) = await Requests.PostAsync(client, "/v1/chat/completions", FaultStreams.ChatRequest(UnaryModel, stream: false, maxTokens));
        Assert.Equal(200, (int)response.StatusCode);
        var tokens = JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.Equal(maxTokens, tokens);
        return tokens;
    }

    /// <summary>A request without a model: the worker answers 400.</summary>
    private static async Task RejectedAsync(HttpClient client, bool stream)
    {
        var json = $$"""{"messages":[{"role":"user","content":"Hello"}],"stream":{{(stream ? "true" : "false")}},"max_tokens":5}""";
        var (response, _) = await Requests.PostAsync(client, "/v1/chat/completions", json);
        Assert.Equal(400, (int)response.StatusCode);
    }

    /// <summary>A long stream its client leaves after a few content events.</summary>
    private static async Task AbandonAsync(HttpClient client)
    {
        var response = await client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(CancelModel, stream: true, maxTokens: 5000)), HttpCompletionOption.ResponseHeadersRead);
        try
        {
            Assert.Equal(200, (int)response.StatusCode);
            var received = new MemoryStream();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await FaultStreams.ReadUntilAsync(await response.Content.ReadAsStreamAsync(), received,
                text => FaultStreams.CountOccurrences(text, "\"content\":\"") - FaultStreams.CountOccurrences(text, "\"content\":\"\"") >= ContentEventsBeforeLeaving,
                timeout.Token);
        }
        finally
        {
            response.Dispose();
        }
    }
}

using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>
/// A worker silent past YARP's activity timeout is a <c>response_timeout</c>, before its headers
/// (the client gets a JSON 504) and mid-stream (the tokens so far still count).
/// </summary>
public sealed class ActivityTimeoutTests
{
    private static readonly VllmStream Vllm = new(Model);

    private const string Model = "silent-model";
    private const string OneSecondActivityTimeout = "ReverseProxy:Clusters:worker:HttpRequest:ActivityTimeout=00:00:01";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Worker_that_never_answers_gives_a_json_504_counted_response_timeout(bool stream)
    {
        await using var worker = new RawSocketWorker(exchange => exchange.Aborted);
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, OneSecondActivityTimeout);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream));

        Assert.Equal(504, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("worker_timeout", error.GetProperty("type").GetString());
        Assert.Equal(504, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));

        Assert.True(worker.Exchanges.TryPeek(out var exchange));
        await exchange.Aborted.WaitAsync(Generous);

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", stream ? "stream" : "unary", "response_timeout");
        AssertNoDisconnect(delta);
    }

    [Fact]
    public async Task Worker_silent_mid_stream_is_a_response_timeout_with_the_tokens_so_far()
    {
        var stream = VllmStream.Chat(new Generation(Model, [" a", " b"], PromptTokens: 5, CachedTokens: 0));
        var sent = stream.Join(WorkerEventKind.Role) + SseFrame.Event(Vllm.Content(" a")) + SseFrame.Event(Vllm.Content(" b"));
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(stream.Join(WorkerEventKind.Role)));
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(SseFrame.Event(Vllm.Content(" a"))));
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(SseFrame.Event(Vllm.Content(" b"))));
            await exchange.Aborted; // then nothing, until the sidecar gives up
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, OneSecondActivityTimeout);
        var before = await sidecar.ScrapeAsync();

        using var response = await sidecar.Client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var (received, failure) = await FaultStreams.ReadToEndOrFailureAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(sent, Encoding.UTF8.GetString(received));
        Assert.True(failure is not null, "a stream the sidecar gave up on must not look complete to the client");
        Assert.True(worker.Exchanges.TryPeek(out var exchange));
        await exchange.Aborted.WaitAsync(Generous);

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        var model = ("model", Model);
        Assert.Equal(2, delta.Value(OutputTokens, model));
        Assert.Equal(1, delta.Value(OutputSequenceCount, model));
        Assert.Equal(2, delta.Value(OutputSequenceSum, model));
        Assert.Equal(1, delta.Value(TimeToFirstTokenCount, model));
        Assert.Equal(0, delta.Value(InputSequenceCount, model));
        AssertNoDisconnect(delta);
        AssertOutcome(delta, Model, "chat_completions", "stream", "response_timeout");
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>
/// SPEC §2, "a stream has ended well when...": a worker that crashes mid-stream, or closes a stream
/// cleanly before its end, is <c>internal</c>; one that closes after a finished choice, <c>[DONE]</c>
/// or <c>response.completed</c> is a success even without the rest.
/// </summary>
public sealed class StreamCutTests
{
    private static readonly VllmStream Vllm = new(Model);

    private const string Model = "cut-model";
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Connection_cut_mid_event_is_internal_and_the_client_got_every_complete_event_unchanged()
    {
        var role = SseFrame.Event(Vllm.Role());
        string[] content = [SseFrame.Event(Vllm.Content(" one")), SseFrame.Event(Vllm.Content(" two")), SseFrame.Event(Vllm.Content(" three"))];
        var complete = role + string.Concat(content);
        var partial = SseFrame.Event(Vllm.Content(" four"));
        var clientHasCompleteEvents = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(role));
            foreach (var e in content)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(e));
            }

            // Cut only once the client holds what came before, so nothing in flight is lost to the reset.
            await clientHasCompleteEvents.Task.WaitAsync(Generous);
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(partial[..(partial.Length / 2)]));
            exchange.Cut();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        using var response = await sidecar.Client.SendAsync(
            Requests.Post("/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(Generous);
        await FaultStreams.ReadUntilAsync(body, received, text => text.Length >= complete.Length, timeout.Token);
        clientHasCompleteEvents.SetResult();
        var (rest, failure) = await FaultStreams.ReadToEndOrFailureAsync(body, timeout.Token);
        received.Write(rest);

        Assert.Equal(complete, Encoding.UTF8.GetString(received.ToArray()));
        Assert.True(failure is not null and not OperationCanceledException, $"the client must see the stream fail, not end: {failure}");

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", "stream", "internal");
        AssertNoDisconnect(delta);
        Assert.Equal(3, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(3, delta.Value(OutputSequenceSum, ("model", Model)));
    }

    [Fact]
    public async Task Clean_end_without_done_or_finish_reason_is_internal()
    {
        var role = SseFrame.Event(Vllm.Role());
        var sent = role + SseFrame.Event(Vllm.Content(" one")) + SseFrame.Event(Vllm.Content(" two"));
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(sent));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(sent, Encoding.UTF8.GetString(body));
        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", "stream", "internal");
        AssertNoDisconnect(delta);
        Assert.Equal(2, delta.Value(OutputTokens, ("model", Model)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Clean_end_after_a_finish_reason_without_done_is_a_success(bool usageChunkAfterFinish)
    {
        var stream = VllmStream.Chat(new Generation(Model, [" one", " two", " three"], PromptTokens: 9, CachedTokens: 0));
        var sent = stream.Join(WorkerEventKind.Role) + string.Concat(stream.Texts(WorkerEventKind.Content)) + (usageChunkAfterFinish ? stream.Join(WorkerEventKind.UsageOnly) : "");
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(sent));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream: true));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream.Join(WorkerEventKind.Role) + string.Concat(stream.Texts(WorkerEventKind.Content)), Encoding.UTF8.GetString(body));
        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", "stream", "");
        AssertNoDisconnect(delta);
        Assert.Equal(3, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(3, delta.Value(OutputSequenceSum, ("model", Model)));
        Assert.Equal(usageChunkAfterFinish ? 1 : 0, delta.Value(InputSequenceCount, ("model", Model)));
    }

    [Theory]
    [InlineData(true, "")]
    [InlineData(false, "internal")]
    public async Task Responses_stream_ended_well_only_after_response_completed(bool completed, string errorType)
    {
        var sent = new StringBuilder()
            .Append(FaultStreams.ResponsesEvent("response.created", "\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"usage\":null}"))
            .Append(FaultStreams.ResponsesEvent("response.output_text.delta", "\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" hi\""))
            .Append(FaultStreams.ResponsesEvent("response.output_text.delta", "\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" there\""))
            .Append(FaultStreams.ResponsesEvent("response.output_text.done", "\"sequence_number\":3,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"text\":\" hi there\""))
            .Append(completed
                ? FaultStreams.ResponsesEvent("response.completed", "\"sequence_number\":4,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"usage\":{\"input_tokens\":6,\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":2,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":8}}")
                : "")
            .ToString();
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(sent));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/responses", $$"""{"model":"{{Model}}","input":"Say hi","stream":true}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(sent, Encoding.UTF8.GetString(body));
        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "responses", "stream", errorType);
        AssertNoDisconnect(delta);
        Assert.Equal(2, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(2, delta.Value(OutputSequenceSum, ("model", Model)));
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// <c>POST /v1/messages</c> (Anthropic Messages, SPEC §1.2 and §2) over real sockets: the request is never rewritten,
/// the stream reaches the client byte for byte, and tokens come from <c>message_start</c> / <c>message_delta</c> usage
/// (input = input + cache reads + cache writes unless <c>Sidecar:Metering:AnthropicInputIncludesCached</c>).
/// </summary>
public sealed class AnthropicMessagesTests
{
    private const string Model = "claude-sonnet-4-5";
    private const string StreamRequest = """{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Why is the sky blue?"}]}""";

    /// <summary>Prompt tokens the worker wrote to its cache: 135 = 25 input + 100 cache reads + 10 cache writes.</summary>
    private const int CacheCreationTokens = 10;

    private static readonly (string, string) ModelLabel = ("model", Model);

    private static readonly Generation SkyAnswer = new(Model, ["The", " sky", " scatters"], PromptTokens: 135, CachedTokens: 100) { FinishReason = "stop" };

    [Fact]
    public async Task Stream_passes_byte_identical_request_untouched_and_is_metered_from_its_usage()
    {
        var stream = AnthropicStream.Messages(SkyAnswer, CacheCreationTokens);
        var usage = stream.Usage!;
        using var worker = Worker(stream.Body, "text/event-stream; charset=utf-8");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream.Body, Encoding.UTF8.GetString(received));
        var upstream = worker.LogEntries.Single().RequestMessage;
        Assert.Equal(Encoding.UTF8.GetBytes(StreamRequest), upstream.BodyAsBytes);
        Assert.Equal(Encoding.UTF8.GetByteCount(StreamRequest).ToString(), upstream.Headers!.Single(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value.Single());
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream");
        Assert.Equal((1, usage.InputTokens), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, usage.CachedTokens!.Value), delta.Histogram("cached_sequence_length", Model));
        Assert.Equal((1, usage.CachedTokens!.Value), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, usage.OutputTokens), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal(usage.OutputTokens, delta.Value("output_tokens_total", ModelLabel));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", ModelLabel));
        Assert.Equal(stream.Texts(WorkerEventKind.Content).Count - 1, delta.Value("inter_token_latency_seconds_count", ModelLabel));
    }

    [Fact]
    public async Task Unary_body_is_untouched_and_tokens_come_from_its_usage()
    {
        var generation = new Generation(Model, ["Ray", "leigh", " scattering", "."], PromptTokens: 135, CachedTokens: 100) { FinishReason = "stop" };
        var body = AnthropicStream.Unary(generation, CacheCreationTokens);
        const string request = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Why is the sky blue?"}]}""";
        using var worker = Worker(body, "application/json");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(body, Encoding.UTF8.GetString(received));
        Assert.Equal(Encoding.UTF8.GetBytes(request), worker.LogEntries.Single().RequestMessage.BodyAsBytes);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "unary");
        Assert.Equal((1, generation.PromptTokens), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, generation.CachedTokens!.Value), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, generation.CompletionTokens), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal(generation.CompletionTokens, delta.Value("output_tokens_total", ModelLabel));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ModelLabel));
    }

    [Fact]
    public async Task Error_event_reaches_the_client_and_ends_the_request_as_an_overload()
    {
        var stream = AnthropicStream.MessagesFailingAfter(SkyAnswer, tokens: 1);
        using var worker = Worker(stream.Body, "text/event-stream");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream.Body, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream", status: "error", errorType: "overload");
        Assert.Equal(1, delta.Value("output_tokens_total", ModelLabel));
        Assert.Equal((1, SkyAnswer.PromptTokens), delta.Histogram("input_sequence_tokens", Model));
    }

    [Fact]
    public async Task Error_event_then_a_cut_connection_is_still_the_error_it_named()
    {
        var stream = AnthropicStream.MessagesFailingAfter(SkyAnswer, tokens: 1, "invalid_request_error", "prompt is too long");
        var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            foreach (var e in stream.Events)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(e.Text));
            }

            await cut.Task;
            exchange.Cut();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        using var response = await sidecar.Client.SendAsync(Requests.Post("/v1/messages", StreamRequest), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        // The worker cuts the connection only once the client holds every event (a reset may drop bytes in flight).
        await Faults.FaultStreams.ReadUntilAsync(body, received, text => text == stream.Body, CancellationToken.None);
        cut.SetResult();
        var (rest, error) = await Faults.FaultStreams.ReadToEndOrFailureAsync(body);

        // The client sees the cut too.
        Assert.NotNull(error);
        Assert.Empty(rest);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream", status: "error", errorType: "validation");
    }

    [Fact]
    public async Task Count_tokens_passes_through_unmetered()
    {
        const string answer = """{"input_tokens":14}""";
        const string request = """{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello"}]}""";
        using var worker = Worker(answer, "application/json");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages/count_tokens", request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(answer, Encoding.UTF8.GetString(received));
        var upstream = worker.LogEntries.Single().RequestMessage;
        Assert.Equal("/v1/messages/count_tokens", upstream.Path);
        Assert.Equal(Encoding.UTF8.GetBytes(request), upstream.BodyAsBytes);
        var after = await sidecar.ScrapeAsync();
        var delta = new MetricsDelta(before, after);
        Assert.Equal(0, delta.Sum("requests_started_total"));
        Assert.Equal(0, delta.Sum("requests_total"));
        Assert.Equal(0, delta.Sum("input_sequence_tokens_count"));
    }

    [Fact]
    public async Task InputIncludesCached_option_leaves_cache_reads_out_of_the_input()
    {
        // input_tokens is 125 here: the 100 cache reads are inside it, the 10 cache writes are not.
        var stream = AnthropicStream.MessagesCountingCacheReadsInInput(SkyAnswer, CacheCreationTokens);
        var usage = stream.Usage!;
        using var worker = Worker(stream.Body, "text/event-stream");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:Metering:AnthropicInputIncludesCached=true");
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream.Body, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream");
        Assert.Equal((1, usage.InputTokens), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, usage.CachedTokens!.Value), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, usage.OutputTokens), delta.Histogram("output_sequence_tokens", Model));
    }

    /// <summary>A WireMock worker that answers every POST with <paramref name="body"/>; its log keeps what the sidecar sent.</summary>
    private static WireMockServer Worker(string body, string contentType)
    {
        var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", contentType).WithBody(body));
        return worker;
    }
}

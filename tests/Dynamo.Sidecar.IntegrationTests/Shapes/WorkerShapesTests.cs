using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// Real workers' streams, rebuilt byte for byte by the Workers library, served by a scripted worker on a socket
/// behind the real sidecar: the bytes the client receives and what <c>/metrics</c> then says (SPEC §2).
/// </summary>
public sealed class WorkerShapesTests
{
    private const string M = "qwen3-8b";
    private static readonly (string, string) Model = ("model", M);

    public static TheoryData<string> NormalStreams => [.. WorkerShape.NormalStreams(M).Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(NormalStreams))]
    public async Task Normal_stream_of_every_worker_family_is_metered_right(string name)
    {
        var shape = WorkerShape.NormalStreams(M).Single(s => s.Name == name);
        var usage = shape.Stream.Usage!;

        var (received, delta) = await RunAsync(shape.Path, shape.RequestBody, shape.Stream.Body);

        Assert.Equal(shape.Stream.BodyWithoutUsage, received);
        delta.AssertOneRequest(M, shape.Endpoint, "stream");
        Assert.Equal(usage.OutputTokens, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, usage.InputTokens), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal((1, usage.OutputTokens), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal(usage.CachedTokens is { } cached ? (1, cached) : (0, 0), delta.Histogram("cached_sequence_length", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        // One token per content event (no continuous usage): every content event after the first is one ITL observation.
        Assert.Equal(shape.ContentEvents - 1, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Tgi_unfinished_completions_chunks_say_finish_reason_empty_so_a_clean_close_before_the_end_is_internal()
    {
        // TGI writes "finish_reason":"" on every unfinished /v1/completions chunk; the worker then closes the body
        // cleanly after three of them, with no real finish and no [DONE] (SPEC §2: "" is not a finish).
        var stream = TgiStream.CompletionsCutAfter(new Generation(M, [" The", " sky", " is", " blue", "."], PromptTokens: 6), tokens: 3);

        var (received, delta) = await RunAsync("/v1/completions", $$"""{"model":"{{M}}","prompt":"The sky","max_tokens":5,"stream":true}""", stream.Body);

        Assert.Equal(stream.Body, received);
        delta.AssertOneRequest(M, "completions", "stream", "error", "internal");
        Assert.Equal(3, delta.Value("output_tokens_total", Model));
    }

    public static TheoryData<string> StreamErrors => [.. WorkerShape.StreamErrors(M).Select(s => s.Shape.Name)];

    [Theory]
    [MemberData(nameof(StreamErrors))]
    public async Task Error_event_then_done_in_a_200_stream_is_an_error_with_the_type_of_its_code(string name)
    {
        var (shape, errorType) = WorkerShape.StreamErrors(M).Single(s => s.Shape.Name == name);

        var (received, delta) = await RunAsync(shape.Path, shape.RequestBody, shape.Stream.Body);

        Assert.Equal(shape.Stream.Body, received);
        delta.AssertOneRequest(M, "chat_completions", "stream", "error", errorType);
        Assert.Equal(2, delta.Value("output_tokens_total", Model));
    }

    [Fact]
    public async Task Ollama_zero_usage_on_every_chunk_does_not_freeze_the_live_count_or_itl()
    {
        // Behind the sidecar include_usage is always on, and Ollama's /v1/completions then writes
        // "usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0} on every chunk. The worker holds its
        // real usage back until the test has seen the live count of the five tokens that passed.
        var stream = OllamaStream.Completions(new Generation(M, [" The", " sky", " is", " blue", "."], PromptTokens: 9));

        var (live, received, delta) = await RunHeldBeforeUsageAsync("/v1/completions", $$"""{"model":"{{M}}","prompt":"The sky","max_tokens":5,"stream":true}""", stream, liveTokens: 5);

        Assert.Equal(5, live.Value("dynamo_frontend_output_tokens_total", Model));
        Assert.Equal(stream.BodyWithoutUsage, received);
        delta.AssertOneRequest(M, "completions", "stream");
        Assert.Equal(5, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 5), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 9), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(5 - 1, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Vllm_n2_with_continuous_usage_is_counted_exactly_while_it_streams()
    {
        // vLLM with n=2 and continuous_usage_stats puts on each chunk the running count of that chunk's own choice
        // (1, 1, 2, 2, 3, 3): each chunk adds one token. Six tokens pass; the first gives TTFT, and ITL is observed
        // once per token after it (SPEC §2): 6 - 1 = 5 observations. The final usage says 6.
        var stream = VllmStream.Chat(new Generation(M, [" a", " b", " c"], PromptTokens: 11) { Choices = 2 }, continuousUsage: true);
        var request = $$$"""{"model":"{{{M}}}","messages":[{"role":"user","content":"Hi"}],"n":2,"stream":true,"stream_options":{"continuous_usage_stats":true}}""";

        var (live, received, delta) = await RunHeldBeforeUsageAsync("/v1/chat/completions", request, stream, liveTokens: 6);

        Assert.Equal(6, live.Value("dynamo_frontend_output_tokens_total", Model));
        Assert.Equal(stream.BodyWithoutUsage, received);
        delta.AssertOneRequest(M, "chat_completions", "stream");
        Assert.Equal(6, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 6), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(6 - 1, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task LlamaCpp_n2_sends_one_usage_chunk_per_choice_both_removed_and_osl_is_the_request_total()
    {
        // llama-server ends each choice with its own usage-only chunk: 6 + 6 completion tokens, the prompt (9) in both.
        var stream = LlamaCppStream.Chat(new Generation(M, [" a", " b", " c", " d", " e", " f"], PromptTokens: 9) { Choices = 2 });
        Assert.Equal(2, stream.Texts(WorkerEventKind.UsageOnly).Count);

        var (received, delta) = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","messages":[{"role":"user","content":"Hi"}],"n":2,"stream":true}""", stream.Body);

        Assert.Equal(stream.BodyWithoutUsage, received);
        delta.AssertOneRequest(M, "chat_completions", "stream");
        Assert.Equal(12, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 12), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 9), delta.Histogram("input_sequence_tokens", M));
    }

    /// <summary>One request to a WireMock worker that answers <paramref name="workerBody"/>: what the client received, and the metrics it added.</summary>
    private static async Task<(string Received, MetricsDelta Delta)> RunAsync(string path, string requestBody, string workerBody)
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath(path).UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream; charset=utf-8").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, path, requestBody);

        Assert.Equal(200, (int)response.StatusCode);
        return (Encoding.UTF8.GetString(received), await MetricsDelta.AfterAsync(sidecar, before));
    }

    /// <summary>
    /// A worker that sends everything before the stream's first usage-only chunk, waits until <c>/metrics</c> shows
    /// <paramref name="liveTokens"/> output tokens (or 10 s pass), then sends the rest: the live scrape, what the
    /// client received, and the metrics the request added.
    /// </summary>
    private static async Task<(MetricsText Live, string Received, MetricsDelta Delta)> RunHeldBeforeUsageAsync(
        string path, string requestBody, WorkerStream stream, int liveTokens)
    {
        var usageAt = stream.Events.ToList().FindIndex(e => e.Kind == WorkerEventKind.UsageOnly);
        var head = string.Concat(stream.Events.Take(usageAt).Select(e => e.Text));
        var tail = string.Concat(stream.Events.Skip(usageAt).Select(e => e.Text));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(head));
            await release.Task;
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(tail));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        using var response = await sidecar.Client.SendAsync(Requests.Post(path, requestBody), HttpCompletionOption.ResponseHeadersRead);
        var body = response.Content.ReadAsByteArrayAsync();
        var live = await sidecar.ScrapeUntilAsync(m => m.Value("dynamo_frontend_output_tokens_total", Model) >= liveTokens);
        release.SetResult();

        var received = Encoding.UTF8.GetString(await body);
        return (live, received, await MetricsDelta.AfterAsync(sidecar, before));
    }
}

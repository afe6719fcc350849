using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// The stream shapes real workers produce, scripted in WireMock: what the client receives (raw bytes)
/// and what <c>/metrics</c> then says, following SPEC §2's token rules.
/// </summary>
public sealed class StreamVariantsTests
{
    private const string M = "qwen3-8b";
    private static readonly (string, string) Model = ("model", M);
    private static readonly VllmStream Vllm = new(M);
    private static readonly string Role = SseFrame.Event(Vllm.Role());

    [Fact]
    public async Task Two_choices_interleaved_count_one_token_per_choice_carrying_output()
    {
        var worker = Role
            + SseFrame.Event(Vllm.Role(index: 1))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("A"))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(1, Content("B"))}]"))
            // Both choices in one chunk: two tokens.
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("C"))},{VllmStream.Choice(1, Content("D"))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("E"), "stop")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(1, Content("F"), "stop")}]"));
        var usage = SseFrame.Event(Vllm.UsageOnly(20, 6, cached: 0));

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","n":2,"stream":true}""", worker + usage + SseFrame.Done(), worker + SseFrame.Done());

        Assert.Equal(6, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 6), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 20), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal((1, 0), delta.Histogram("cached_sequence_length", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(5, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Multi_token_chunks_without_continuous_usage_are_topped_up_to_completion_tokens()
    {
        var worker = Role
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("The sky"))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" is very"))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" blue today."), "length")}]"));
        var usage = SseFrame.Event(Vllm.UsageOnly(11, 7, cached: 3));

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""", worker + usage + SseFrame.Done(), worker + SseFrame.Done());

        Assert.Equal(7, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 7), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 11), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal((1, 3), delta.Histogram("cached_sequence_length", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        // One token per chunk is all the proxy can see live: the two later chunks.
        Assert.Equal(2, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Continuous_usage_stats_count_each_chunk_by_its_usage_delta(bool clientAsksForUsage)
    {
        // vLLM with continuous_usage_stats: every chunk carries the running usage, the role chunk included.
        var worker = SseFrame.Event(Vllm.Role(Vllm.Usage(10, 0)))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("Hello there"))}]", Vllm.Usage(10, 2)))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" my"))}]", Vllm.Usage(10, 3)))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" dear old friend"), "stop")}]", Vllm.Usage(10, 6)));
        var usage = SseFrame.Event(Vllm.UsageOnly(10, 6));
        var request = clientAsksForUsage
            ? $$$"""{"model":"{{{M}}}","stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}"""
            : $$$"""{"model":"{{{M}}}","stream":true,"stream_options":{"continuous_usage_stats":true}}""";

        var delta = await RunAsync("/v1/chat/completions", request, worker + usage + SseFrame.Done(), clientAsksForUsage ? worker + usage + SseFrame.Done() : worker + SseFrame.Done());

        Assert.Equal(6, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 6), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 10), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal(0, delta.Value("cached_sequence_length_count", Model));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        // 6 tokens, 2 of them in the first content chunk.
        Assert.Equal(6 - 2, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Worker_that_never_sends_usage_gets_the_live_count_as_osl_and_no_isl()
    {
        var stream = VllmStream.Chat(new Generation(M, [" a", " b", " c", " d", " e"], PromptTokens: 0, CachedTokens: 0));

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""", stream.BodyWithoutUsage, stream.BodyWithoutUsage);

        Assert.Equal(5, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 5), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((0, 0), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal((0, 0), delta.Histogram("cached_sequence_length", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(4, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Comments_and_keep_alive_blank_lines_pass_through_and_are_not_content()
    {
        var stream = VllmStream.Chat(new Generation(M, [" a", " b", " c"], PromptTokens: 9, CachedTokens: 0));
        var content = stream.Texts(WorkerEventKind.Content).ToList();
        var before = ": ping\n\n" + stream.Join(WorkerEventKind.Role) + "\n" + content[0] + ": ping - 2025-01-01 00:00:00\n\n" + "\n\n" + content[1] + ":\n\n" + content[2];
        var after = "\n" + ": ping\n\n";

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""",
            before + stream.Join(WorkerEventKind.UsageOnly) + after + stream.Join(WorkerEventKind.Done) + "\n",
            before + after + stream.Join(WorkerEventKind.Done) + "\n");

        Assert.Equal(3, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 3), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 9), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(2, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Crlf_stream_reaches_the_client_byte_identical_minus_the_usage_chunk()
    {
        var stream = VllmStream.Chat(new Generation(M, [" one", " two", " three", " four"], PromptTokens: 30, CachedTokens: 12)).WithLineEnd("\r\n");

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""", stream.Body, stream.BodyWithoutUsage);

        Assert.Equal(4, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 4), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 30), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal((1, 12), delta.Histogram("cached_sequence_length", M));
        Assert.Equal(3, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Completions_stream_counts_text_deltas_under_the_completions_endpoint()
    {
        var worker = SseFrame.Event(Vllm.TextChunk(" blue"))
            + SseFrame.Event(Vllm.TextChunk(""))
            + SseFrame.Event(Vllm.TextChunk(" because"))
            + SseFrame.Event(Vllm.TextChunk(" of", finishReason: "length"));
        var usage = SseFrame.Event(Vllm.TextUsageOnly(5, 3, cached: 0));

        var delta = await RunAsync("/v1/completions", $$"""{"model":"{{M}}","prompt":"The sky is","max_tokens":3,"stream":true}""", worker + usage + SseFrame.Done(), worker + SseFrame.Done(), "completions");

        Assert.Equal(3, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 3), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 5), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        // The empty text is not output.
        Assert.Equal(2, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Reasoning_and_tool_call_deltas_are_content()
    {
        var worker = Role
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"reasoning_content":"Let"}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"reasoning":" me think"}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}""")}]"))
            // Not output: an empty tool_calls array and an empty content.
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"content":"","tool_calls":[]}""", "tool_calls")}]"));

        // No usage from the worker: what the meter counted live is all there is.
        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true,"tools":[]}""", worker + SseFrame.Done(), worker + SseFrame.Done());

        Assert.Equal(5, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 5), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(4, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Output_tokens_are_counted_live_then_topped_up_to_the_worker_usage()
    {
        var head = Role
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"reasoning_content":"Hmm"}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, """{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}""")}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content("ok"))}]"));
        var tail = SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, "{}", "stop")}]")) + SseFrame.Event(Vllm.UsageOnly(8, 9)) + SseFrame.Done();
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

        using var response = await sidecar.Client.SendAsync(Requests.Post("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        var body = response.Content.ReadAsByteArrayAsync();
        var live = await sidecar.ScrapeUntilAsync(m => m.Value("dynamo_frontend_output_tokens_total", Model) >= 3);
        release.SetResult();
        Assert.Equal(3, live.Value("dynamo_frontend_output_tokens_total", Model));
        Assert.Equal(1, live.Value("dynamo_frontend_inflight_requests", Model));
        Assert.Equal(0, live.Value("dynamo_frontend_queued_requests", Model));
        Assert.Equal(1, live.Value("dynamo_frontend_time_to_first_token_seconds_count", Model));
        Assert.Equal(head + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, "{}", "stop")}]")) + SseFrame.Done(), Encoding.UTF8.GetString(await body));

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(M, "chat_completions", "stream");
        Assert.Equal(9, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 9), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 8), delta.Histogram("input_sequence_tokens", M));
    }

    [Fact]
    public async Task Event_larger_than_the_inspection_cap_passes_through_unparsed_and_the_rest_is_metered()
    {
        var big = new string('x', 100 * 1024);
        var worker = Role
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(big))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" and"))}]"))
            + SseFrame.Event(Vllm.Chunk($"[{VllmStream.Choice(0, Content(" more"), "stop")}]"));
        var usage = SseFrame.Event(Vllm.UsageOnly(4, 3));

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""", worker + usage + SseFrame.Done(), worker + SseFrame.Done(), "chat_completions", "Sidecar:MaxInspectedEventBytes=2048");

        Assert.Equal(3, delta.Value("output_tokens_total", Model));
        Assert.Equal((1, 3), delta.Histogram("output_sequence_tokens", M));
        Assert.Equal((1, 4), delta.Histogram("input_sequence_tokens", M));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(1, delta.Value("inter_token_latency_seconds_count", Model));
    }

    [Fact]
    public async Task Multi_line_data_and_other_sse_fields_are_parsed()
    {
        // data split over lines (joined with LF), "data:" without a space, and id/event/retry fields.
        var worker = "retry: 3000\n" + Role
            + "id: 1\ndata: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\ndata: \"choices\":[" + VllmStream.Choice(0, Content("A")) + "]}\n\n"
            + "event: message\ndata:" + Vllm.Chunk($"[{VllmStream.Choice(0, Content("B"))}]") + "\n\n"
            + "data:" + Vllm.Chunk($"[{VllmStream.Choice(0, Content("C"), "stop")}]") + "\n\n";
        var usage = "id: 9\n" + SseFrame.Event(Vllm.UsageOnly(2, 3));

        var delta = await RunAsync("/v1/chat/completions", $$"""{"model":"{{M}}","stream":true}""", worker + usage + SseFrame.Done(), worker + SseFrame.Done());

        Assert.Equal(3, delta.Value("output_tokens_total", Model));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", Model));
        Assert.Equal(2, delta.Value("inter_token_latency_seconds_count", Model));
        Assert.Equal((1, 2), delta.Histogram("input_sequence_tokens", M));
    }

    /// <summary>
    /// Sends one metered request to a WireMock worker answering <paramref name="workerStream"/>; checks the client
    /// got <paramref name="expectedClientStream"/> exactly and that one request was counted and closed.
    /// </summary>
    private static async Task<MetricsDelta> RunAsync(string path, string requestBody, string workerStream, string expectedClientStream, string endpoint = "chat_completions", params string[] settings)
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath(path).UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream; charset=utf-8").WithBody(workerStream));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, settings);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, path, requestBody);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(expectedClientStream, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(M, endpoint, "stream");
        return delta;
    }

    /// <summary>A delta that carries <paramref name="text"/>.</summary>
    private static string Content(string text) => Json.Object(("content", text)).ToJson(JsonStyle.Compact);
}

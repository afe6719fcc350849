using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Microsoft.AspNetCore.Http;

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
    private const string StartUsage = """{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}""";

    private static readonly string[] Deltas = ["The", " sky", " scatters"];
    private static readonly (string, string) MessageStop = ("message_stop", """{"type":"message_stop"}""");

    [Fact]
    public async Task Stream_passes_byte_identical_request_untouched_and_is_metered_from_its_usage()
    {
        var stream = MessagesStream(StartUsage, Deltas, """{"output_tokens":3}""", end: MessageStop);
        await using var worker = await MessagesWorker.StartAsync(stream, "text/event-stream; charset=utf-8");
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        Assert.Equal(StreamRequest, worker.LastRequestBody);
        Assert.Equal(Encoding.UTF8.GetByteCount(StreamRequest), worker.LastRequestContentLength);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream");
        Assert.Equal((1, 135), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, 100), delta.Histogram("cached_sequence_length", Model));
        Assert.Equal((1, 100), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, 3), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal(3, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.Equal(Deltas.Length - 1, delta.Value("inter_token_latency_seconds_count", ("model", Model)));
    }

    [Fact]
    public async Task Unary_body_is_untouched_and_tokens_come_from_its_usage()
    {
        const string body = """{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Rayleigh scattering."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":4}}""";
        const string request = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Why is the sky blue?"}]}""";
        await using var worker = await MessagesWorker.StartAsync(body, "application/json");
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(body, Encoding.UTF8.GetString(received));
        Assert.Equal(request, worker.LastRequestBody);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "unary");
        Assert.Equal((1, 135), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, 100), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, 4), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal(4, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", Model)));
    }

    [Fact]
    public async Task Error_event_reaches_the_client_and_ends_the_request_as_an_overload()
    {
        var stream = MessagesStream(StartUsage, ["The"], usage: null,
            end: ("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""));
        await using var worker = await MessagesWorker.StartAsync(stream, "text/event-stream");
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream", status: "error", errorType: "overload");
        Assert.Equal(1, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal((1, 135), delta.Histogram("input_sequence_tokens", Model));
    }

    [Fact]
    public async Task Error_event_then_a_cut_connection_is_still_the_error_it_named()
    {
        var stream = MessagesStream(StartUsage, ["The"], usage: null,
            end: ("error", """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"""));
        var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = await MessagesWorker.StartAsync(stream, "text/event-stream", abortWhen: cut.Task);
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        using var response = await sidecar.Client.SendAsync(Requests.Post("/v1/messages", StreamRequest), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        // The worker cuts the connection only once the client holds every event (a reset may drop bytes in flight).
        await Faults.FaultStreams.ReadUntilAsync(body, received, text => text == stream, CancellationToken.None);
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
        await using var worker = await MessagesWorker.StartAsync(answer, "application/json");
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages/count_tokens", request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(answer, Encoding.UTF8.GetString(received));
        Assert.Equal("/v1/messages/count_tokens", worker.LastRequestPath);
        Assert.Equal(request, worker.LastRequestBody);
        var after = await sidecar.ScrapeAsync();
        var delta = new MetricsDelta(before, after);
        Assert.Equal(0, delta.Sum("requests_started_total"));
        Assert.Equal(0, delta.Sum("requests_total"));
        Assert.Equal(0, delta.Sum("input_sequence_tokens_count"));
    }

    [Fact]
    public async Task InputIncludesCached_option_leaves_cache_reads_out_of_the_input()
    {
        // SGLang and Ollama count cache reads inside input_tokens.
        var stream = MessagesStream("""{"input_tokens":125,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}""",
            Deltas, """{"output_tokens":3}""", end: MessageStop);
        await using var worker = await MessagesWorker.StartAsync(stream, "text/event-stream");
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:Metering:AnthropicInputIncludesCached=true");
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/messages", StreamRequest);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "anthropic_messages", "stream");
        Assert.Equal((1, 135), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, 100), delta.Histogram("cached_tokens", Model));
        Assert.Equal((1, 3), delta.Histogram("output_sequence_tokens", Model));
    }

    /// <summary>A Messages stream as the API writes it: named events, a ping, one text block, then <paramref name="end"/>.</summary>
    private static string MessagesStream(string startUsage, string[] deltas, string? usage, (string Name, string Data) end)
    {
        var sb = new StringBuilder();
        void Event(string name, string data) => sb.Append($"event: {name}\ndata: {data}\n\n");

        Event("message_start", $$$"""{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"{{{Model}}}","stop_reason":null,"stop_sequence":null,"usage":{{{startUsage}}}}}""");
        Event("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        Event("ping", """{"type": "ping"}""");
        foreach (var text in deltas)
        {
            Event("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{{{text}}}"}}""");
        }

        Event("content_block_stop", """{"type":"content_block_stop","index":0}""");
        if (usage is not null)
        {
            Event("message_delta", $$"""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{{usage}}}""");
        }

        Event(end.Name, end.Data);
        return sb.ToString();
    }

    /// <summary>A Kestrel worker that answers every request with one body, each SSE event flushed on its own, and keeps the last request.</summary>
    private sealed class MessagesWorker : IAsyncDisposable
    {
        private readonly KestrelWorker _worker;

        private MessagesWorker(KestrelWorker worker) => _worker = worker;

        public string Address => _worker.Address;

        public string? LastRequestPath { get; private set; }

        public string? LastRequestBody { get; private set; }

        public long? LastRequestContentLength { get; private set; }

        /// <param name="abortWhen">When given, the worker cuts the connection once it completes instead of ending the response.</param>
        public static async Task<MessagesWorker> StartAsync(string body, string contentType, Task? abortWhen = null)
        {
            MessagesWorker? scripted = null;
            var worker = await KestrelWorker.StartAsync(async context =>
            {
                using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
                scripted!.LastRequestBody = await reader.ReadToEndAsync();
                scripted.LastRequestPath = context.Request.Path;
                scripted.LastRequestContentLength = context.Request.ContentLength;
                context.Response.ContentType = contentType;
                foreach (var piece in contentType.StartsWith("text/event-stream", StringComparison.Ordinal)
                    ? body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e + "\n\n")
                    : [body])
                {
                    await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(piece));
                    await context.Response.Body.FlushAsync();
                }

                if (abortWhen is not null)
                {
                    await abortWhen;
                    context.Abort();
                }
            });
            scripted = new MessagesWorker(worker);
            return scripted;
        }

        public ValueTask DisposeAsync() => _worker.DisposeAsync();
    }
}

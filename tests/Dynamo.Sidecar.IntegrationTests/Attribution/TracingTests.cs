using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Attribution;

/// <summary>
/// Tracing on (the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set): one span per metered request reaches an
/// OTLP/HTTP receiver, its parent is the client's span and it is the parent of what the worker receives
/// (SPEC §5), with the GenAI semantic conventions' attributes.
/// </summary>
[Collection(TracingCollection.Name)]
public sealed class TracingTests
{
    private const string Model = "traced-model";
    private const string ClientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientSpanId = "00f067aa0ba902b7";

    private static readonly WorkerStream Stream = VllmStream.Chat(new Generation(Model, [" one", " two", " three"], PromptTokens: 9, CachedTokens: 2));

    [Fact]
    public async Task The_sidecars_span_is_the_clients_child_and_the_workers_parent()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), receiver.SidecarSettings);

        var answer = await SendAsync(sidecar, "/v1/chat/completions", ChatRequest(stream: true),
            $"traceparent: 00-{ClientTraceId}-{ClientSpanId}-01", "tracestate: vendor=opaque", "baggage: k=v");

        Assert.Contains("[DONE]", answer);
        var span = Assert.Single(await receiver.WaitForTraceAsync(ClientTraceId));
        Assert.Equal(ClientSpanId, span.ParentSpanId);
        var head = Assert.Single(worker.Exchanges).RequestHead;
        Assert.Contains($"\r\ntraceparent: 00-{ClientTraceId}-{span.SpanId}-01\r\n", head);
        Assert.Contains("\r\ntracestate: vendor=opaque\r\n", head);
        Assert.Contains("\r\nbaggage: k=v\r\n", head);
        Assert.Equal("vendor=opaque", span.TraceState);

        Assert.Equal($"chat {Model}", span.Name);
        Assert.Equal(2, span.Kind); // SPAN_KIND_SERVER
        Assert.Equal("Dynamo.Sidecar", span.ScopeName);
        Assert.Equal("dynamo-sidecar", span.ResourceAttributes["service.name"]);
        Assert.Equal("chat", span.Attributes["gen_ai.operation.name"]);
        Assert.Equal(Model, span.Attributes["gen_ai.request.model"]);
        Assert.Equal(9L, span.Attributes["gen_ai.usage.input_tokens"]);
        Assert.Equal(3L, span.Attributes["gen_ai.usage.output_tokens"]);
        Assert.Equal(2L, span.Attributes["gen_ai.usage.cache_read.input_tokens"]);
        Assert.Equal(200L, span.Attributes["http.response.status_code"]);
        Assert.False(span.Attributes.ContainsKey("error.type"));
        Assert.Equal(0, span.StatusCode);
        var firstToken = Assert.Single(span.Events);
        Assert.Equal("gen_ai.first_token", firstToken.Name);
        Assert.InRange(firstToken.UnixNanos, span.StartUnixNanos, span.EndUnixNanos);
    }

    [Fact]
    public async Task A_request_without_a_trace_starts_one_and_the_worker_is_its_child()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), receiver.SidecarSettings);

        await SendAsync(sidecar, "/v1/chat/completions", ChatRequest(stream: false));

        var traceparent = Assert.Single(Assert.Single(worker.Exchanges).RequestHead.Split("\r\n"), l => l.StartsWith("traceparent:", StringComparison.Ordinal));
        var parts = traceparent["traceparent: ".Length..].Split('-');
        var span = Assert.Single(await receiver.WaitForTraceAsync(parts[1]));
        Assert.Equal(span.SpanId, parts[2]);
        // Sampled; .NET also sets W3C level 2's "random trace id" flag (0x02) on the traces it starts.
        Assert.Equal(1, Convert.ToInt32(parts[3], 16) & 1);
        Assert.Equal("", span.ParentSpanId);
    }

    [Fact]
    public async Task An_error_answer_marks_the_span_with_its_error_type()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync("application/json", status: 429);
            await exchange.SendChunkAsync("""{"error":{"message":"busy"}}"""u8.ToArray());
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), receiver.SidecarSettings);

        await SendAsync(sidecar, "/v1/completions", """{"model":"traced-model","prompt":"x"}""", $"traceparent: 00-{ClientTraceId}-{ClientSpanId}-01");

        var span = Assert.Single(await receiver.WaitForTraceAsync(ClientTraceId));
        Assert.Equal("text_completion", span.Attributes["gen_ai.operation.name"]);
        Assert.Equal("overload", span.Attributes["error.type"]);
        Assert.Equal(429L, span.Attributes["http.response.status_code"]);
        Assert.Equal(2, span.StatusCode); // STATUS_CODE_ERROR
        Assert.Empty(span.Events);
    }

    [Fact]
    public async Task A_client_that_leaves_ends_the_span_cancelled_with_the_tokens_that_passed()
    {
        const int tokensBeforeLeaving = 3;
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendTokensUntilAbortedAsync(Model, tokensBeforeLeaving);
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), receiver.SidecarSettings);

        var request = Requests.Post("/v1/chat/completions", ChatRequest(stream: true));
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{ClientTraceId}-{ClientSpanId}-01");
        await Faults.FaultStreams.LeaveAfterTokensAsync(sidecar.ProxyAddress, request, tokensBeforeLeaving);

        var span = Assert.Single(await receiver.WaitForTraceAsync(ClientTraceId));
        Assert.Equal("cancelled", span.Attributes["error.type"]);
        Assert.Equal(2, span.StatusCode);
        Assert.Equal((long)tokensBeforeLeaving, span.Attributes["gen_ai.usage.output_tokens"]);
        Assert.False(span.Attributes.ContainsKey("gen_ai.usage.input_tokens"));
        Assert.Equal("gen_ai.first_token", Assert.Single(span.Events).Name);
    }

    [Fact]
    public async Task Unmetered_routes_export_no_span_and_pass_the_trace_headers_as_sent()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), receiver.SidecarSettings);
        var sent = $"traceparent: 00-{ClientTraceId}-{ClientSpanId}-01";

        await SendAsync(sidecar, "/tokenize", """{"prompt":"x"}""", sent);
        // A metered request after it: once its span has arrived, the unmetered one's would have too.
        await SendAsync(sidecar, "/v1/chat/completions", ChatRequest(stream: false), "traceparent: 00-11111111111111111111111111111111-2222222222222222-01");
        await receiver.WaitForTraceAsync("11111111111111111111111111111111");

        Assert.Contains($"\r\n{sent}\r\n", worker.Exchanges.First().RequestHead);
        Assert.DoesNotContain(receiver.Spans, s => s.TraceId == ClientTraceId);
    }

    [Fact]
    public async Task OTEL_SDK_DISABLED_turns_tracing_off_with_an_endpoint_set()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), [.. receiver.SidecarSettings, "OTEL_SDK_DISABLED=true"]);
        var sent = $"traceparent: 00-{ClientTraceId}-{ClientSpanId}-01";

        await SendAsync(sidecar, "/v1/chat/completions", ChatRequest(stream: true), sent);

        Assert.Contains($"\r\n{sent}\r\n", Assert.Single(worker.Exchanges).RequestHead);
        Assert.Empty(receiver.Spans);
    }

    private static RawSocketWorker StreamingWorker() => new(async exchange =>
    {
        var streaming = Encoding.UTF8.GetString(exchange.Body).Contains("\"stream\":true");
        await exchange.SendHeadAsync(streaming ? "text/event-stream" : "application/json");
        await exchange.SendChunkAsync(streaming
            ? Stream.Bytes
            : Encoding.UTF8.GetBytes("""{"id":"c","object":"chat.completion","model":"traced-model","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"""));
        await exchange.SendEndAsync();
    });

    private static string ChatRequest(bool stream) =>
        $$"""{"model":"{{Model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";

    internal static async Task<string> SendAsync(SidecarHost sidecar, string path, string json, params string[] headers)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var head = RawHttp.Head(
        [
            $"POST {path} HTTP/1.1",
            $"Host: {sidecar.ProxyAddress.Authority}",
            "Content-Type: application/json",
            $"Content-Length: {body.Length}",
            "Connection: close",
            .. headers,
        ]);
        return await RawHttp.ExchangeAsync(sidecar.ProxyAddress, [.. head, .. body]);
    }
}

/// <summary>
/// Tests whose sidecars export spans: an OpenTelemetry tracer provider listens to the sidecar's span source
/// process-wide, so they run one at a time (receivers still filter by trace id).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "Tracing";
}

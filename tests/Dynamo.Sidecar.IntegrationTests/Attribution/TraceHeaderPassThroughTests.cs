using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;

namespace Dynamo.Sidecar.IntegrationTests.Attribution;

/// <summary>
/// SPEC §5 with tracing off: <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> reach the worker byte for
/// byte, and none is added to a request that came without them, on metered and unmetered routes alike, whether
/// or not the sidecar's other request-end features are on. Raw sockets on both sides, so nothing in between
/// (an HttpClient, WireMock's parser) can add or normalise a header.
/// </summary>
public sealed class TraceHeaderPassThroughTests
{
    private const string Chat = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";
    private const string Completion = """{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""";

    private static readonly string[] TraceHeaders =
    [
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        "baggage: userId=alice, serverNode=DF%2028,isProduction=false;ttl=5",
    ];

    public static TheoryData<string, string[]> Routes => new()
    {
        { "/v1/chat/completions", [] },
        { "/tokenize", [] },
        { "/v1/chat/completions", ["Sidecar:AccessLog=true", "Sidecar:Exemplars=true", "Sidecar:Attribution:Header=x-tenant-id", "Sidecar:Attribution:FromBody=true"] },
        { "/tokenize", ["Sidecar:AccessLog=true", "Sidecar:Exemplars=true", "Sidecar:Attribution:Header=x-tenant-id"] },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task The_clients_trace_headers_reach_the_worker_byte_for_byte(string path, string[] settings)
    {
        var head = await ForwardAsync(path, TraceHeaders, settings);

        Assert.Equal(TraceHeaders.Order(), TraceLines(head).Order());
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task A_request_without_trace_headers_reaches_the_worker_without_any(string path, string[] settings)
    {
        var head = await ForwardAsync(path, [], settings);

        Assert.Empty(TraceLines(head));
        Assert.DoesNotContain("request-id:", head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_malformed_traceparent_passes_as_sent()
    {
        string[] malformed = ["traceparent: 00-NOT-A-TRACE-01", "tracestate: ="];

        var head = await ForwardAsync("/v1/chat/completions", malformed, ["Sidecar:Exemplars=true", "Sidecar:AccessLog=true"]);

        Assert.Equal(malformed.Order(), TraceLines(head).Order());
    }

    private static async Task<string> ForwardAsync(string path, string[] traceHeaders, string[] settings)
    {
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync("application/json");
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(Completion));
            await exchange.SendEndAsync();
        });
        // With a log provider, as in production: ASP.NET Core then starts an activity per request, which .NET's
        // own propagation would write into the headers toward the worker.
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, new LogCapture(), settings);

        var answer = await RawHttp.ExchangeAsync(sidecar.ProxyAddress, Encoding.UTF8.GetBytes(Encoding.Latin1.GetString(RawHttp.Head(
        [
            $"POST {path} HTTP/1.1",
            $"Host: {sidecar.ProxyAddress.Authority}",
            "Content-Type: application/json",
            $"Content-Length: {Chat.Length}",
            "Connection: close",
            .. traceHeaders,
        ])) + Chat));

        Assert.StartsWith("HTTP/1.1 200", answer);
        return Assert.Single(worker.Exchanges).RequestHead;
    }

    // Header order is not part of HTTP; each line's bytes are.
    private static string[] TraceLines(string head) =>
        head.Split("\r\n").Where(line =>
            line.StartsWith("traceparent:", StringComparison.OrdinalIgnoreCase)
            || line.StartsWith("tracestate:", StringComparison.OrdinalIgnoreCase)
            || line.StartsWith("baggage:", StringComparison.OrdinalIgnoreCase)).ToArray();
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Hostile;

/// <summary>
/// Request smuggling on the proxy listener: requests whose framing is ambiguous (Content-Length against
/// Transfer-Encoding, two lengths, codings other than chunked) are rejected by Kestrel or re-framed, and a
/// request hidden in a body never reaches the worker as a request of its own.
/// </summary>
public sealed class SmugglingTests
{
    private const string Path = "/v1/chat/completions";
    private const string Json = """{"model":"m","messages":[]}""";
    // vLLM's answer: 3 prompt tokens, 1 completion token.
    private static readonly string Answer = VllmStream.ChatUnary(new Generation("m", ["ok"], PromptTokens: 3));
    private const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

    /// <summary>The raw request, the status the client must get, and the body the worker must receive (null: no request at all).</summary>
    private sealed record Case(byte[] Request, int Status, string? UpstreamBody);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // CL.TE: a front end that trusted Content-Length would pass the smuggled request on as the next one.
        ["CL.TE: Content-Length covers a request after the last chunk"] = new(
            Bytes(Head("Content-Type: application/json", $"Content-Length: {Latin1(RawHttp.Chunk(Json) + "0\r\n\r\n" + Smuggled)}", "Transfer-Encoding: chunked"),
                RawHttp.Chunk(Json) + "0\r\n\r\n" + Smuggled),
            200, Json),
        // TE.CL: a back end that trusted Content-Length would read the chunk's content as the next request.
        ["TE.CL: a chunk carries a whole request"] = new(
            Bytes(Head("Content-Type: text/plain", "Content-Length: 4", "Transfer-Encoding: chunked"), RawHttp.Chunk(Smuggled) + "0\r\n\r\n"),
            200, Smuggled),
        ["two different Content-Lengths"] = new(Bytes(Head("Content-Type: application/json", "Content-Length: 2", $"Content-Length: {2 + Smuggled.Length}"), "{}" + Smuggled), 400, null),
        ["Content-Length list"] = new(Bytes(Head("Content-Type: application/json", "Content-Length: 2, 2"), "{}"), 400, null),
        ["negative Content-Length"] = new(Bytes(Head("Content-Type: application/json", "Content-Length: -1"), "{}" + Smuggled), 400, null),
        ["Transfer-Encoding: chunked, identity"] = new(Bytes(Head("Content-Type: application/json", "Transfer-Encoding: chunked, identity"), RawHttp.Chunk("{}") + "0\r\n\r\n" + Smuggled), 400, null),
        ["Transfer-Encoding: identity with Content-Length"] = new(Bytes(Head("Content-Type: application/json", "Transfer-Encoding: identity", "Content-Length: 2"), "{}" + Smuggled), 400, null),
        ["two Transfer-Encoding headers"] = new(Bytes(Head("Content-Type: application/json", "Transfer-Encoding: chunked", "Transfer-Encoding: identity"), RawHttp.Chunk("{}") + "0\r\n\r\n" + Smuggled), 400, null),
        ["obfuscated coding xchunked"] = new(Bytes(Head("Content-Type: application/json", "Transfer-Encoding: xchunked"), RawHttp.Chunk("{}") + "0\r\n\r\n" + Smuggled), 400, null),
        ["space before the colon of Transfer-Encoding"] = new(Bytes(Head("Content-Type: application/json", "Transfer-Encoding : chunked", "Content-Length: 2"), "{}" + Smuggled), 400, null),
        ["bare LF line endings"] = new(Encoding.Latin1.GetBytes($"POST {Path} HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: {Json.Length}\nConnection: close\n\n{Json}"), 200, Json),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Ambiguous_framing_is_rejected_or_reframed_and_never_smuggles_a_request(string name)
    {
        var @case = Cases[name];
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);

        var answer = await RawHttp.ExchangeAsync(sidecar.ProxyAddress, @case.Request);

        Assert.StartsWith($"HTTP/1.1 {@case.Status} ", answer, StringComparison.Ordinal);
        // One request, one answer: nothing the client hid in its body was answered as a request of its own.
        Assert.Single(answer.Split("HTTP/1.1 "), part => part.Length > 0);
        await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        Assert.DoesNotContain(worker.LogEntries, e => e.RequestMessage.Path == "/smuggled");
        if (@case.UpstreamBody is null)
        {
            Assert.Empty(worker.LogEntries);
            return;
        }

        var upstream = Assert.Single(worker.LogEntries).RequestMessage;
        Assert.Equal(Path, upstream.Path);
        Assert.Equal(@case.UpstreamBody, Encoding.Latin1.GetString(upstream.BodyAsBytes ?? []));
        // Framed once, unambiguously: a length and no chunking, or chunking and no length.
        var headers = upstream.Headers!;
        Assert.False(headers.ContainsKey("Content-Length") && headers.ContainsKey("Transfer-Encoding"), string.Join(", ", headers.Keys));
    }

    [Theory]
    [InlineData("text/plain", 1)]
    // A JSON body is read by the meter before anything is forwarded: the request fails before it is accepted.
    [InlineData("application/json", 0)]
    public async Task A_malformed_chunk_is_answered_400_and_counted_as_invalid_not_as_a_disconnect(string contentType, int metered)
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);

        // The chunk says 2 bytes and carries more: Kestrel fails the body read mid-request.
        var answer = await RawHttp.ExchangeAsync(sidecar.ProxyAddress, Bytes(Head($"Content-Type: {contentType}", "Transfer-Encoding: chunked"), "2\r\n{}xx\r\n0\r\n\r\n" + Smuggled));

        Assert.StartsWith("HTTP/1.1 400 ", answer, StringComparison.Ordinal);
        var metrics = await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        Assert.Equal(metered, metrics.Sum(MetricsDelta.Prefix + "requests_total"));
        Assert.Equal(metered, metrics.Value(MetricsDelta.Prefix + "requests_total",
            ("model", "unknown_model"), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "error"), ("error_type", "validation")));
        // The client never left: it was waiting for the 400.
        Assert.Equal(0, metrics.Value(MetricsDelta.Prefix + "disconnected_clients"));
        Assert.Equal(0, metrics.Sum(MetricsDelta.Prefix + "model_cancellation_total"));
        Assert.DoesNotContain(worker.LogEntries, e => e.RequestMessage.Path == "/smuggled");
    }

    private static WireMockServer StartWorker()
    {
        var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/*").UsingAnyMethod())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Answer));
        return worker;
    }

    private static string Head(params string[] headers) => Encoding.Latin1.GetString(RawHttp.Head([$"POST {Path} HTTP/1.1", "Host: x", .. headers]));

    private static byte[] Bytes(string head, string body) => Encoding.Latin1.GetBytes(head + body);

    private static int Latin1(string text) => Encoding.Latin1.GetByteCount(text);
}

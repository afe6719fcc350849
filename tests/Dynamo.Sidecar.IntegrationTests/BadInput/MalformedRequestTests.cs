using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Shapes;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.BadInput;

/// <summary>
/// SPEC §4: a metered request whose body the sidecar cannot (or must not) read is forwarded byte for byte,
/// answered by the worker, and still counted, as <c>unknown_model</c>; the sidecar stays up.
/// </summary>
public sealed class MalformedRequestTests
{
    private const string Path = "/v1/chat/completions";
    private const string UnknownModel = "unknown_model";
    private const string GoodBody = """{"model":"llama-3-8b","messages":[{"role":"user","content":"hi"}]}""";
    // vLLM's answer: 3 prompt tokens, 1 completion token.
    private static readonly string GoodAnswer = VllmStream.ChatUnary(new Generation("llama-3-8b", ["hello"], PromptTokens: 3));
    private const int MaxInspectedRequestBytes = 4096;

    /// <summary>Body, how it is sent, what the worker answers, and the error_type that answer maps to.</summary>
    private sealed record Case(byte[] Body, string? ContentType = "application/json", string? ContentEncoding = null, bool Chunked = false, int WorkerStatus = 400, string ErrorType = "validation");

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["not JSON"] = new(Utf8("model=llama-3-8b&stream=true")),
        ["not JSON, chunked"] = new(Utf8("this is { not json"), Chunked: true),
        ["empty body"] = new([]),
        ["JSON array"] = new(Utf8("""[{"model":"llama-3-8b","stream":true}]""")),
        ["JSON string"] = new(Utf8("\"llama-3-8b\"")),
        ["JSON number"] = new(Utf8("42"), WorkerStatus: 422),
        ["JSON null"] = new(Utf8("null")),
        ["missing model"] = new(Utf8("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}"""), WorkerStatus: 404, ErrorType: "not_found"),
        ["model is a number"] = new(Utf8("""{"model":7,"messages":[]}""")),
        ["model is an object"] = new(Utf8("""{"model":{"name":"llama-3-8b","stream":true},"messages":[]}""")),
        ["model is null"] = new(Utf8("""{"model":null,"messages":[]}""")),
        ["model is empty"] = new(Utf8("""{"model":"","messages":[]}""")),
        ["text/plain, stream true"] = new(Utf8("""{"model":"llama-3-8b","stream":true,"messages":[]}"""), ContentType: "text/plain", WorkerStatus: 200, ErrorType: ""),
        ["no Content-Type, stream true"] = new(Utf8("""{"model":"llama-3-8b","stream":true,"messages":[]}"""), ContentType: null, WorkerStatus: 415),
        ["gzip-encoded, stream true"] = new(Gzip(Utf8("""{"model":"llama-3-8b","stream":true,"messages":[]}""")), ContentEncoding: "gzip", WorkerStatus: 200, ErrorType: ""),
        ["larger than the inspection cap"] = new(Large(), WorkerStatus: 200, ErrorType: ""),
        ["larger than the inspection cap, chunked"] = new(Large(), Chunked: true, WorkerStatus: 413),
        ["invalid UTF-8 in model"] = new([.. Utf8("""{"model":"llama"""), 0xFF, 0xFE, 0xC3, .. Utf8(""" 3","stream":true,"messages":[]}""")]),
        ["truncated JSON"] = new(Utf8("""{"model":"llama-3-8b","stream":true,"messages":[{"role":"user","content":"hi"""), WorkerStatus: 500, ErrorType: "internal"),
        ["trailing garbage"] = new(Utf8("""{"model":"llama-3-8b","stream":true} {"model":"other"}""")),
        ["worker overloaded"] = new(Utf8("[1,2"), WorkerStatus: 429, ErrorType: "overload"),
        ["worker unavailable"] = new(Utf8("{"), WorkerStatus: 503, ErrorType: "unavailable"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Body_reaches_the_worker_unchanged_and_is_counted_as_unknown_model(string name)
    {
        var @case = Cases[name];
        using var worker = StartWorker();
        var answer = @case.WorkerStatus == 200 ? GoodAnswer : $$"""{"object":"error","message":"bad request","type":"BadRequestError","param":null,"code":{{@case.WorkerStatus}}}""";
        worker.Given(Request.Create().WithPath(Path).UsingPost())
            .AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(@case.WorkerStatus).WithHeader("Content-Type", "application/json").WithBody(answer));
        worker.Given(Request.Create().WithPath(Path).UsingPost().WithHeader("X-Follow-Up", "1"))
            .AtPriority(1)
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(GoodAnswer));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, $"Sidecar:MaxInspectedRequestBytes={MaxInspectedRequestBytes}");
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.SendAsync(sidecar.Client, Build(@case));

        Assert.Equal(@case.WorkerStatus, (int)response.StatusCode);
        Assert.Equal(answer, Encoding.UTF8.GetString(received));
        var upstream = Assert.Single(worker.LogEntries).RequestMessage;
        Assert.Equal(@case.Body, upstream.BodyAsBytes ?? []);
        var headers = upstream.Headers!.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        if (!@case.Chunked)
        {
            Assert.Equal(@case.Body.Length.ToString(), headers.GetValueOrDefault("Content-Length", "0"));
        }

        Assert.Equal(@case.ContentType, headers.GetValueOrDefault("Content-Type"));
        Assert.Equal(@case.ContentEncoding, headers.GetValueOrDefault("Content-Encoding"));

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        var status = @case.ErrorType.Length == 0 ? "success" : "error";
        delta.AssertOneRequest(UnknownModel, "chat_completions", "unary", status, @case.ErrorType);
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", UnknownModel)));

        // The sidecar is still up and meters the next, well-formed request normally.
        var followUp = Requests.Post(Path, GoodBody);
        followUp.Headers.Add("X-Follow-Up", "1");
        var (okResponse, okBody) = await Requests.SendAsync(sidecar.Client, followUp);
        Assert.Equal(200, (int)okResponse.StatusCode);
        Assert.Equal(GoodAnswer, Encoding.UTF8.GetString(okBody));
        Assert.Equal(GoodBody, Encoding.UTF8.GetString(worker.LogEntries.Last().RequestMessage.BodyAsBytes!));
        var next = await MetricsDelta.AfterAsync(sidecar, delta.After);
        next.AssertOneRequest("llama-3-8b", "chat_completions", "unary");
        Assert.Equal((1, 3), next.Histogram("input_sequence_tokens", "llama-3-8b"));
    }

    /// <summary>WireMock, but showing the request body exactly as it arrived (no gzip decoding).</summary>
    internal static WireMockServer StartWorker() =>
        WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{FreePort.Next()}"], DisableRequestBodyDecompressing = true });

    private static HttpRequestMessage Build(Case @case)
    {
        HttpContent content = @case.Chunked
            ? new StreamContent(new UnseekableStream(@case.Body))
            : new ByteArrayContent(@case.Body);
        if (@case.ContentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(@case.ContentType);
        }

        if (@case.ContentEncoding is not null)
        {
            content.Headers.ContentEncoding.Add(@case.ContentEncoding);
        }

        var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = content };
        if (@case.Chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        return request;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A well-formed streaming request of 64 KB: too large to inspect, so forwarded as it is.</summary>
    private static byte[] Large()
    {
        var filler = new string('a', 64 * 1024);
        return Utf8($$"""{"model":"llama-3-8b","stream":true,"messages":[{"role":"user","content":"{{filler}}"}]}""");
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Makes HttpClient send the body chunked, without a Content-Length.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}

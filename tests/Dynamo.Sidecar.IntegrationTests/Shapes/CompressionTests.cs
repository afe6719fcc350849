using System.IO.Compression;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// SPEC §1.6: a metered response that arrives encoded anyway is passed through untouched and counted
/// as unmetered, and the sidecar says so in its log once, not per request.
/// </summary>
public sealed class CompressionTests
{
    private const string Model = "llama-3-8b";

    [Fact]
    public async Task Gzip_stream_passes_through_untouched_counted_without_tokens_and_logged_once()
    {
        var stream = VllmStream.Chat(new Generation(Model, [" The", " sky", " is", " blue"], PromptTokens: 42, CachedTokens: 16));
        var gzipped = Gzip(stream.Bytes);
        var acceptEncodingSeen = new List<string>();
        await using var worker = await KestrelWorker.StartAsync(async context =>
        {
            lock (acceptEncodingSeen)
            {
                acceptEncodingSeen.Add(context.Request.Headers.AcceptEncoding.ToString());
            }

            // A worker (or a proxy in front of it) that compresses whatever it is asked.
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.ContentEncoding = "gzip";
            await context.Response.Body.WriteAsync(gzipped);
        });
        var logs = new LogCapture();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, logs);
        var before = await sidecar.ScrapeAsync();

        const int requests = 3;
        for (var i = 0; i < requests; i++)
        {
            var request = Requests.Post("/v1/chat/completions", $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"secret prompt text"}],"stream":true}""");
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
            var (response, received) = await Requests.SendAsync(sidecar.Client, request);

            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
            Assert.Equal(gzipped, received);
        }

        Assert.All(acceptEncodingSeen, Assert.Empty);
        var delta = await MetricsDelta.AfterAsync(sidecar.ScrapeAsync, before, requests);
        Assert.Equal(requests, delta.Value("requests_started_total", ("model", Model), ("endpoint", "chat_completions"), ("request_type", "stream")));
        Assert.Equal(requests, delta.Value("requests_total", ("model", Model), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")));
        Assert.Equal(requests, delta.Sum("requests_total"));
        delta.AssertIdle();
        Assert.Equal(0, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal(0, delta.Value("input_sequence_tokens_count", ("model", Model)));
        Assert.Equal(0, delta.Value("output_sequence_tokens_count", ("model", Model)));
        Assert.Equal(0, delta.Value("cached_sequence_length_count", ("model", Model)));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.Equal(0, delta.Value("inter_token_latency_seconds_count", ("model", Model)));
        Assert.Equal(requests, delta.Value("request_duration_seconds_count", ("model", Model)));

        var lines = logs.Lines.ToList();
        var encoded = Assert.Single(lines, l => l.EventId.Name == "EncodedResponseNotMetered");
        Assert.Equal(LogLevel.Warning, encoded.Level);
        Assert.Contains("gzip", encoded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Message.Contains("secret prompt text", StringComparison.Ordinal) || l.Message.Contains(" sky", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gzip_unary_answer_passes_through_untouched_and_is_counted()
    {
        var body = Encoding.UTF8.GetBytes($$$"""{"id":"x","object":"chat.completion","model":"{{{Model}}}","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}""");
        var gzipped = Gzip(body);
        await using var worker = await KestrelWorker.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentEncoding = "gzip";
            await context.Response.Body.WriteAsync(gzipped);
        });
        var logs = new LogCapture();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, logs);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", $$"""{"model":"{{Model}}"}""");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(gzipped, received);
        var delta = await MetricsDelta.AfterAsync(sidecar.ScrapeAsync, before);
        delta.AssertOneRequest(Model, "chat_completions", "unary");
        Assert.Equal(0, delta.Value("input_sequence_tokens_count", ("model", Model)));
        Assert.Equal(0, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Single(logs.Lines, l => l.EventId.Name == "EncodedResponseNotMetered");
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
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// The unary usage reader sees the worker's JSON in whatever pieces TCP delivers: written in two
/// pieces split at every byte offset, the client gets the same bytes and the meter the same usage.
/// </summary>
public sealed class UnarySplitTests
{
    [Theory]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Blue \"sky\" \u00e9 \\ done"},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"total_tokens":49,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":16}}}""")]
    [InlineData("""{ "usage" : { "prompt_tokens" : 42 , "completion_tokens" : 7 , "prompt_tokens_details" : { "cached_tokens" : 16 } } , "choices" : [ { "message" : { "content" : "x" } } ] }""")]
    public async Task Every_split_offset_gives_identical_bytes_and_usage(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var split = 0;
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync("application/json");
            await exchange.SendChunkAsync(bytes.AsMemory(0, split));
            await Task.Delay(1);
            await exchange.SendChunkAsync(bytes.AsMemory(split));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:MaxInspectedEventBytes=1024");
        var before = await sidecar.ScrapeAsync();

        for (split = 0; split <= bytes.Length; split++)
        {
            var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", """{"model":"m"}""");
            Assert.True(bytes.AsSpan().SequenceEqual(body), $"split at {split}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        var requests = bytes.Length + 1;
        var delta = await MetricsDelta.AfterAsync(sidecar, before, requests);
        Assert.Equal(requests, delta.Value("requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "success"), ("error_type", "")));
        Assert.Equal((requests, 42 * requests), delta.Histogram("input_sequence_tokens", "m"));
        Assert.Equal((requests, 7 * requests), delta.Histogram("output_sequence_tokens", "m"));
        Assert.Equal((requests, 16 * requests), delta.Histogram("cached_sequence_length", "m"));
        Assert.Equal(7 * requests, delta.Value("output_tokens_total", ("model", "m")));
        delta.AssertIdle();
    }
}

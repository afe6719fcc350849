using System.Text.Json.Nodes;
using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The official <c>openai</c> npm client (tests/e2e-node/summarize.mjs) sees the same streams, usage and
/// answers through the sidecar as from llama-server directly.
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class OpenAiNodeClientTests(LlamaFixture llama)
{
    [Fact]
    public async Task The_openai_npm_client_gets_the_same_summary_through_the_sidecar_as_directly()
    {
        // The first run warms llama-server's prompt cache, so the two compared runs find it in the same state.
        await SummarizeAsync(llama.LlamaAddress);
        var direct = await SummarizeAsync(llama.LlamaAddress);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await SummarizeAsync(llama.Sidecar.ProxyAddress);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 5));

        Assert.True(
            JsonNode.DeepEquals(direct, through),
            $"the openai npm client saw different things.\n--- direct ---\n{direct}\n--- through the sidecar ---\n{through}");

        foreach (var scenario in new[] { "chatStreamWithoutUsage", "chatStreamUsageFalse" })
        {
            Assert.Null(through[scenario]!["usage"]);
            Assert.Equal(0, (int)through[scenario]!["usageChunks"]!);
        }

        var withUsage = through["chatStreamWithUsage"]!;
        Assert.Equal(1, (int)withUsage["usageChunks"]!);
        Assert.Equal(12, (int)withUsage["usage"]!["completion_tokens"]!);
        Assert.Equal(12, (int)through["completionsStream"]!["usage"]!["completion_tokens"]!);
        Assert.Equal(12, (int)through["chatUnary"]!["usage"]!["completion_tokens"]!);

        Assert.Equal(5, metrics.Sum("requests_total", ("status", "success")));
        Assert.Equal(5 * 12, metrics.Sum("output_tokens_total"));
        Assert.Equal(5, metrics.Sum("input_sequence_tokens_count"));
    }

    private static Task<JsonNode> SummarizeAsync(Uri baseAddress) =>
        NodeClient.SummarizeAsync("summarize.mjs", new Uri(baseAddress, "v1"));
}

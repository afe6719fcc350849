using System.Text.Json.Nodes;
using Dynamo.Sidecar.EndToEndTests.Support;
using Xunit.Abstractions;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The official <c>@anthropic-ai/sdk</c> npm client (tests/e2e-node/messages.mjs) sees the same messages
/// through the sidecar as from llama-server directly, and the sidecar meters the usage llama-server reported.
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class AnthropicNodeClientTests(LlamaFixture llama, ITestOutputHelper output)
{
    private const string Model = LlamaFixture.Model;

    [Fact]
    public async Task The_anthropic_npm_client_gets_the_same_messages_through_the_sidecar_as_directly()
    {
        // The first run warms llama-server's prompt cache, so the two compared runs find it in the same state.
        await SummarizeAsync(llama.LlamaAddress);
        var direct = await SummarizeAsync(llama.LlamaAddress);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await SummarizeAsync(llama.Sidecar.ProxyAddress);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 2));
        output.WriteLine($"--- direct ---\n{direct}\n--- through the sidecar ---\n{through}");

        Assert.True(
            JsonNode.DeepEquals(direct, through),
            $"the @anthropic-ai/sdk client saw different things.\n--- direct ---\n{direct}\n--- through the sidecar ---\n{through}");

        var stream = through["messageStream"]!;
        var unary = through["messageUnary"]!;
        Assert.False(string.IsNullOrWhiteSpace((string?)stream["text"]), "the streamed message has no words to compare");
        Assert.False(string.IsNullOrWhiteSpace((string?)unary["text"]), "the unary message has no words to compare");
        Assert.Equal(12, (int)stream["deltaUsage"]!["output_tokens"]!);
        Assert.Equal("max_tokens", (string?)stream["stopReason"]);
        Assert.Equal(1, (int)stream["events"]!["message_stop"]!);
        Assert.Equal(12, (int)unary["usage"]!["output_tokens"]!);

        var describe = metrics.Describe();
        output.WriteLine(describe);
        Assert.True(metrics.Value("requests_total", ("model", Model), ("endpoint", "anthropic_messages"), ("request_type", "stream"), ("status", "success"), ("error_type", "")) == 1, describe);
        Assert.True(metrics.Value("requests_total", ("model", Model), ("endpoint", "anthropic_messages"), ("request_type", "unary"), ("status", "success"), ("error_type", "")) == 1, describe);

        // Anthropic's input_tokens leave out cache reads: ISL is their sum.
        var startUsage = stream["startUsage"]!;
        var unaryUsage = unary["usage"]!;
        var isl = InputTokens(startUsage) + InputTokens(unaryUsage);
        var cached = ((long?)startUsage["cache_read_input_tokens"] ?? 0) + ((long?)unaryUsage["cache_read_input_tokens"] ?? 0);
        var osl = (long)stream["deltaUsage"]!["output_tokens"]! + (long)unaryUsage["output_tokens"]!;
        Assert.True(metrics.Histogram("input_sequence_tokens", Model) == (2, isl), $"ISL should be (2, {isl})\n{describe}");
        Assert.True(metrics.Histogram("cached_sequence_length", Model) == (2, cached), $"cached should be (2, {cached})\n{describe}");
        Assert.True(metrics.Histogram("output_sequence_tokens", Model) == (2, osl), $"OSL should be (2, {osl})\n{describe}");
        Assert.True(metrics.Value("output_tokens_total", ("model", Model)) == osl, describe);
        // Only the stream has a first token and gaps between its text deltas, one token each.
        Assert.Equal(1, metrics.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.True(metrics.Value("inter_token_latency_seconds_count", ("model", Model)) == (int)stream["textDeltas"]! - 1, describe);
        metrics.AssertIdle();
    }

    private static long InputTokens(JsonNode usage) =>
        (long)usage["input_tokens"]! + ((long?)usage["cache_read_input_tokens"] ?? 0) + ((long?)usage["cache_creation_input_tokens"] ?? 0);

    private static Task<JsonNode> SummarizeAsync(Uri baseAddress) => NodeClient.SummarizeAsync("messages.mjs", baseAddress);
}

using System.Text.Json.Nodes;
using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The published Native AOT binary (the <see cref="LlamaFixture"/>'s sidecar), in front of the real llama.cpp llama-server: a streamed OpenAI
/// chat and a streamed Anthropic message reach the client event for event as llama-server sends them directly, and the
/// binary's metrics carry the usage llama-server reported. Each request is sent once before the compared pair, so
/// llama-server's prompt cache is in the same state for both.
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class PublishedBinaryLlamaTests(LlamaFixture llama)
{
    private const int MaxTokens = 12;
    private const string IncludeUsage = ""","stream_options":{"include_usage":true}""";
    private static readonly (string, string) Tiny = ("model", LlamaFixture.Model);

    [Theory]
    [InlineData("usage not asked for", "")]
    [InlineData("usage asked for", IncludeUsage)]
    public async Task A_streamed_chat_is_event_for_event_what_llama_server_sends_and_metered_from_its_usage(string variant, string streamOptions)
    {
        var (direct, through, metrics) = await DirectAndThroughAsync("v1/chat/completions", Chat(variant, streamOptions));
        // What llama-server reports for this very request when asked (the binary asked it, upstream).
        var reported = WireEvents.Usage(await WireEvents.PostStreamAsync(llama.Llama, "v1/chat/completions", Chat(variant, IncludeUsage)));

        Assert.Equal(direct, through);
        Assert.Equal("[DONE]", through[^1]);
        Assert.Equal(streamOptions.Length > 0, WireEvents.Usage(through) is not null);
        Assert.NotNull(reported);
        var describe = metrics.Describe();
        Assert.True(
            metrics.Value("requests_total", Tiny, ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")) == 1,
            describe);
        Assert.True(metrics.Value("output_tokens_total", Tiny) == Tokens(reported, "completion_tokens"), $"usage {reported}\n{describe}");
        Assert.True(metrics.Histogram("input_sequence_tokens", LlamaFixture.Model) == (1, Tokens(reported, "prompt_tokens")), $"usage {reported}\n{describe}");
        Assert.True(metrics.Histogram("output_sequence_tokens", LlamaFixture.Model) == (1, MaxTokens), describe);
        metrics.AssertIdle();
    }

    [Fact]
    public async Task A_streamed_anthropic_message_is_event_for_event_what_llama_server_sends_and_metered_from_its_usage()
    {
        // Seeded sampling (llama.cpp's /v1/messages uses the server's seed): greedy, the random model writes only newlines.
        const string body = """{"model":"tiny","max_tokens":12,"temperature":1.0,"top_k":40,"stream":true,"messages":[{"role":"user","content":"published binary, messages stream"}]}""";
        var (direct, through, metrics) = await DirectAndThroughAsync("v1/messages", body);

        Assert.Equal(direct, through);
        var events = through.Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Equal("message_start", (string?)events[0]["type"]);
        Assert.Equal("message_stop", (string?)events[^1]["type"]);
        var start = events[0]["message"]!["usage"]!;
        var delta = events.Last(e => (string?)e["type"] == "message_delta")["usage"]!;
        var input = Tokens(start, "input_tokens") + Tokens(start, "cache_read_input_tokens") + Tokens(start, "cache_creation_input_tokens");
        var output = Tokens(delta, "output_tokens");
        Assert.Equal(MaxTokens, output);
        var describe = metrics.Describe();
        Assert.True(
            metrics.Value("requests_total", Tiny, ("endpoint", "anthropic_messages"), ("request_type", "stream"), ("status", "success"), ("error_type", "")) == 1,
            describe);
        Assert.True(metrics.Value("output_tokens_total", Tiny) == output, $"message_start usage {start}, message_delta usage {delta}\n{describe}");
        Assert.True(metrics.Histogram("input_sequence_tokens", LlamaFixture.Model) == (1, input), $"message_start usage {start}\n{describe}");
        Assert.True(metrics.Histogram("output_sequence_tokens", LlamaFixture.Model) == (1, output), describe);
        metrics.AssertIdle();
    }

    /// <summary>Warms llama-server's prompt cache with <paramref name="body"/>, then sends it directly and through the binary.</summary>
    private async Task<(List<string> Direct, List<string> Through, MetricsDelta Metrics)> DirectAndThroughAsync(string path, string body)
    {
        await WireEvents.PostStreamAsync(llama.Llama, path, body);
        var direct = await WireEvents.PostStreamAsync(llama.Llama, path, body);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await WireEvents.PostStreamAsync(llama.Proxy, path, body);
        return (direct, through, await MetricsDelta.AfterAsync(llama.Sidecar, before));
    }

    private static string Chat(string variant, string streamOptions) =>
        $$"""{"model":"tiny","messages":[{"role":"user","content":"published binary, chat stream, {{variant}}"}],"stream":true,"max_tokens":{{MaxTokens}},"temperature":0,"seed":42{{streamOptions}}}""";

    private static long Tokens(JsonNode usage, string field) => usage[field]?.GetValue<long>() ?? 0;
}

using System.Diagnostics;
using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Models.Messages;
using Dynamo.Sidecar.EndToEndTests.Support;
using Xunit.Abstractions;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The official Anthropic .NET SDK against llama-server's <c>/v1/messages</c>, directly and through the
/// sidecar: the client sees the same message both ways, and the sidecar's metrics match the usage
/// llama-server reported (SPEC §2, Anthropic Messages).
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class AnthropicDotnetClientTests(LlamaFixture llama, ITestOutputHelper output)
{
    private const int MaxTokens = 12;
    private const string Model = LlamaFixture.Model;

    [Fact]
    public async Task A_streamed_message_is_the_same_through_the_sidecar_and_metered_from_llama_servers_usage()
    {
        var (through, metrics) = await DirectAndThroughAsync(StreamAsync, "anthropic dotnet, stream: why is the sky blue?", "stream");
        Assert.True(through.TextDeltas > 0, through.ToString());

        var describe = metrics.Describe();
        // One first token, then one inter-token gap per later text delta (each delta is one token).
        Assert.Equal(1, metrics.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.True(metrics.Value("inter_token_latency_seconds_count", ("model", Model)) == through.TextDeltas - 1, describe);
        metrics.AssertIdle();
    }

    [Fact]
    public async Task A_unary_message_is_the_same_through_the_sidecar_and_metered_from_llama_servers_usage()
    {
        var (through, metrics) = await DirectAndThroughAsync(CreateAsync, "anthropic dotnet, unary: count to five", "unary");
        // The proxy cannot see a token of a unary answer before the whole answer.
        Assert.Equal(0, metrics.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.Equal(0, metrics.Value("inter_token_latency_seconds_count", ("model", Model)));
        metrics.AssertIdle();
    }

    [Fact]
    public async Task A_client_that_abandons_a_message_stream_stops_llama_server_and_keeps_its_partial_tokens()
    {
        // Thousands of tokens (context shift lets it run past the slot): only an abort frees the slot soon.
        // llama.cpp's /v1/messages drops ignore_eos; sampled at temperature 1, the random model does not
        // reach its end-of-sequence token within the 20 tokens the client reads.
        var request = Raw(new Dictionary<string, object>
        {
            ["model"] = Model,
            ["max_tokens"] = 100000,
            ["temperature"] = 1.0,
            ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = "anthropic dotnet, disconnect: never stop talking" } },
        });
        await WaitUntilIdleAsync();
        var before = await llama.Sidecar.ScrapeAsync();

        var seen = 0;
        // The client's own connection closes at once when the stream is abandoned (no drain on its side).
        using (var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero }))
        using (var client = ClientFor(llama.Sidecar.ProxyAddress, http))
        {
            await foreach (var item in client.Messages.CreateStreaming(request))
            {
                if (item.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out _) && ++seen == 20)
                {
                    break;
                }
            }

            Assert.Equal(20, seen);
        }

        var stopped = Stopwatch.StartNew();
        while (await llama.BusySlotsAsync() > 0)
        {
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(5), $"llama-server still generating 5 s after the client left; its output:\n{llama.LlamaOutput}");
            await Task.Delay(20);
        }

        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));
        var describe = metrics.Describe();
        Assert.True(
            metrics.Value("requests_total", ("model", Model), ("endpoint", "anthropic_messages"), ("request_type", "stream"), ("status", "error"), ("error_type", "cancelled")) == 1,
            describe);
        Assert.Equal(1, metrics.Value("model_cancellation_total", ("model", Model), ("endpoint", "anthropic_messages"), ("request_type", "stream")));
        // Every token the client saw passed the sidecar first and is counted; it may have passed a few more.
        var outputTokens = metrics.Value("output_tokens_total", ("model", Model));
        Assert.True(outputTokens >= seen, $"output_tokens_total grew by {outputTokens}, the client saw {seen} tokens\n{describe}");
        output.WriteLine($"the client saw {seen} text deltas; the sidecar's metrics grew by: {MeteredDeltas(metrics)}");
        // A cancelled stream has no final usage: its OSL is the tokens that passed.
        Assert.True(metrics.Histogram("output_sequence_tokens", Model) == (1, outputTokens), describe);
        metrics.AssertIdle();
    }

    /// <summary>
    /// Sends one seeded request with <paramref name="send"/> three times: once to warm llama-server's prompt cache (so
    /// the two compared runs find it in the same state), once directly, once through the sidecar. Checks the client saw
    /// the same full-length message both ways and the sidecar counted one successful request of
    /// <paramref name="requestType"/> from its usage; returns that message and what the sidecar's metrics grew by.
    /// </summary>
    private async Task<(MessageSummary Through, MetricsDelta Metrics)> DirectAndThroughAsync(
        Func<Uri, MessageCreateParams, Task<MessageSummary>> send, string prompt, string requestType)
    {
        var request = Seeded(prompt, MaxTokens);
        await send(llama.LlamaAddress, request);
        var direct = await send(llama.LlamaAddress, request);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await send(llama.Sidecar.ProxyAddress, request);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));
        output.WriteLine($"direct:  {direct}\nthrough: {through}\nmetrics: {MeteredDeltas(metrics)}");

        Assert.Equal(direct, through);
        Assert.False(string.IsNullOrWhiteSpace(through.Text), "the message has no words to compare");
        Assert.Equal(MaxTokens, through.OutputTokens);
        Assert.Equal("max_tokens", through.StopReason);
        Assert.True(
            metrics.Value("requests_total", ("model", Model), ("endpoint", "anthropic_messages"), ("request_type", requestType), ("status", "success"), ("error_type", "")) == 1,
            metrics.Describe());
        AssertUsageMetered(metrics, through);
        return (through, metrics);
    }

    /// <summary>What the sidecar's metrics grew by, for the test's output.</summary>
    private static string MeteredDeltas(MetricsDelta metrics) =>
        $"(histograms as (count, sum)) requests_total{{endpoint=\"anthropic_messages\"}} {metrics.Sum("requests_total", ("endpoint", "anthropic_messages"))}, " +
        $"input_sequence_tokens {metrics.Histogram("input_sequence_tokens", Model)}, " +
        $"output_sequence_tokens {metrics.Histogram("output_sequence_tokens", Model)}, " +
        $"cached_sequence_length {metrics.Histogram("cached_sequence_length", Model)}, " +
        $"output_tokens_total {metrics.Value("output_tokens_total", ("model", Model))}, " +
        $"TTFT count {metrics.Value("time_to_first_token_seconds_count", ("model", Model))}, " +
        $"ITL count {metrics.Value("inter_token_latency_seconds_count", ("model", Model))}";

    /// <summary>ISL (input + cache reads + cache writes), OSL, cached and the output counter are llama-server's usage.</summary>
    private static void AssertUsageMetered(MetricsDelta metrics, MessageSummary usage)
    {
        var describe = metrics.Describe();
        Assert.True(
            metrics.Histogram("input_sequence_tokens", Model) == (1, usage.InputTokens + usage.CacheReadInputTokens + usage.CacheCreationInputTokens),
            $"ISL {metrics.Histogram("input_sequence_tokens", Model)}, usage {usage}\n{describe}");
        Assert.True(metrics.Histogram("output_sequence_tokens", Model) == (1, usage.OutputTokens), describe);
        Assert.True(metrics.Histogram("cached_sequence_length", Model) == (1, usage.CacheReadInputTokens), describe);
        Assert.True(metrics.Value("output_tokens_total", ("model", Model)) == usage.OutputTokens, describe);
    }

    private static async Task<MessageSummary> StreamAsync(Uri baseAddress, MessageCreateParams request)
    {
        using var client = ClientFor(baseAddress);
        var text = new System.Text.StringBuilder();
        var deltas = 0;
        Usage? start = null;
        string? model = null;
        string? stopReason = null;
        long? outputTokens = null;
        var stops = 0;
        await foreach (var item in client.Messages.CreateStreaming(request))
        {
            if (item.TryPickStart(out var messageStart))
            {
                start = messageStart.Message.Usage;
                model = messageStart.Message.Model.Raw();
            }
            else if (item.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text.Append(textDelta.Text);
                deltas++;
            }
            else if (item.TryPickDelta(out var messageDelta))
            {
                stopReason = messageDelta.Delta.StopReason?.Raw();
                outputTokens = messageDelta.Usage.OutputTokens;
            }
            else if (item.TryPickStop(out _))
            {
                stops++;
            }
        }

        Assert.NotNull(start);
        Assert.Equal(1, stops);
        return new MessageSummary(
            text.ToString(), deltas, model, stopReason,
            start.InputTokens, start.CacheReadInputTokens ?? 0, start.CacheCreationInputTokens ?? 0,
            outputTokens ?? throw new InvalidOperationException("the stream had no message_delta"));
    }

    private static async Task<MessageSummary> CreateAsync(Uri baseAddress, MessageCreateParams request)
    {
        using var client = ClientFor(baseAddress);
        var message = await client.Messages.Create(request);
        var text = string.Concat(message.Content.Select(block => block.TryPickText(out var t) ? t.Text : string.Empty));
        return new MessageSummary(
            text, TextDeltas: 0, message.Model.Raw(), message.StopReason?.Raw(),
            message.Usage.InputTokens, message.Usage.CacheReadInputTokens ?? 0, message.Usage.CacheCreationInputTokens ?? 0,
            message.Usage.OutputTokens);
    }

    /// <summary>
    /// Seeded sampling, so every run writes the same text: greedy sampling would make the random model
    /// write only newlines, and "the same text" would prove little. llama.cpp's /v1/messages drops the
    /// body's seed and uses its own (<see cref="LlamaFixture"/> starts it with one); the body's is for
    /// workers that honour it. The SDK has no typed temperature or top_k, so the request is written as
    /// the JSON body it sends.
    /// </summary>
    private static MessageCreateParams Seeded(string prompt, int maxTokens) => Raw(new Dictionary<string, object>
    {
        ["model"] = Model,
        ["max_tokens"] = maxTokens,
        ["temperature"] = 1.0,
        ["top_k"] = 40,
        ["seed"] = 42,
        ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = prompt } },
    });

    private static MessageCreateParams Raw(Dictionary<string, object> body) => MessageCreateParams.FromRawUnchecked(
        new Dictionary<string, JsonElement>(),
        new Dictionary<string, JsonElement>(),
        body.ToDictionary(field => field.Key, field => JsonSerializer.SerializeToElement(field.Value)));

    private static AnthropicClient ClientFor(Uri baseAddress, HttpClient? http = null)
    {
        var options = new ClientOptions
        {
            BaseUrl = baseAddress.ToString().TrimEnd('/'),
            ApiKey = "sk-ant-e2e-not-checked",
            MaxRetries = 0,
            Timeout = TimeSpan.FromSeconds(60),
        };
        return new AnthropicClient(http is null ? options : options with { HttpClient = http });
    }

    private async Task WaitUntilIdleAsync()
    {
        var waited = Stopwatch.StartNew();
        while (await llama.BusySlotsAsync() > 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "llama-server was still busy before the test started");
            await Task.Delay(50);
        }
    }

    /// <summary>What an application reads of one message: its text, how it ended, and its usage.</summary>
    private sealed record MessageSummary(
        string Text,
        int TextDeltas,
        string? Model,
        string? StopReason,
        long InputTokens,
        long CacheReadInputTokens,
        long CacheCreationInputTokens,
        long OutputTokens);
}

using System.Text.Json.Nodes;
using Dynamo.Sidecar.EndToEndTests.Support;
using OpenAI.Chat;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The official OpenAI .NET SDK, pointed once at llama-server and once at the sidecar in front of it:
/// the application sees the same thing both ways, and the sidecar's metrics carry the usage llama-server
/// reported. Every request is greedy (temperature 0, fixed seed, 12 tokens), so two calls agree, and
/// each is made once before the compared pair so llama-server's prompt cache is in the same state for
/// both (its <c>cached_tokens</c> is part of what is compared).
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class OpenAiDotnetClientTests(LlamaFixture llama)
{
    private const int MaxTokens = 12;
    private static readonly (string, string) Tiny = ("model", LlamaFixture.Model);

    private readonly ChatClient _direct = LlamaFixture.ChatClientFor(llama.LlamaAddress);
    private readonly ChatClient _sidecar = LlamaFixture.ChatClientFor(llama.Sidecar.ProxyAddress);

    [Fact]
    public async Task A_stream_that_did_not_ask_for_usage_gets_the_same_updates_as_directly_and_no_usage()
    {
        const string prompt = "dotnet sdk, stream without usage: why is the sky blue?";
        await StreamAsync(_direct, prompt, includeUsage: false);
        var direct = await StreamAsync(_direct, prompt, includeUsage: false);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await StreamAsync(_sidecar, prompt, includeUsage: false);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));
        // What llama-server reports for this very request when asked (the sidecar asked it, upstream).
        var reported = (await StreamAsync(_direct, prompt, includeUsage: true))[^1].Usage;

        Assert.All(direct, u => Assert.Null(u.Usage));
        Assert.All(through, u => Assert.Null(u.Usage));
        Assert.Equal(direct, through);
        Assert.Equal(MaxTokens, through.Count(u => u.Text.Length > 0));
        Assert.NotNull(reported);
        AssertMetered(metrics, "chat_completions", "stream", reported);
    }

    [Fact]
    public async Task A_stream_that_asked_for_usage_gets_the_same_updates_and_usage_as_directly()
    {
        const string prompt = "dotnet sdk, stream with usage: tell me about dragons";
        await StreamAsync(_direct, prompt, includeUsage: true);
        var direct = await StreamAsync(_direct, prompt, includeUsage: true);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await StreamAsync(_sidecar, prompt, includeUsage: true);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));

        Assert.Equal(direct, through);
        var usage = through[^1].Usage;
        Assert.NotNull(usage);
        Assert.Equal(MaxTokens, usage.Output);
        Assert.Single(through, u => u.Usage is not null);
        AssertMetered(metrics, "chat_completions", "stream", usage);
    }

    [Fact]
    public async Task A_unary_chat_gets_the_same_completion_as_directly_byte_for_byte()
    {
        const string prompt = "dotnet sdk, unary: count to five";
        await UnaryAsync(_direct, prompt);
        var direct = await UnaryAsync(_direct, prompt);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await UnaryAsync(_sidecar, prompt);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));

        Assert.Equal(direct.View, through.View);
        Assert.Equal(direct.RawJson, through.RawJson);
        AssertMetered(metrics, "chat_completions", "unary", through.View.Usage!);
        Assert.Equal(0, metrics.Sum("time_to_first_token_seconds_count", Tiny));
    }

    [Theory]
    [InlineData("usage not asked for", "")]
    [InlineData("usage asked for", ""","stream_options":{"include_usage":true}""")]
    public async Task A_streamed_legacy_completion_gets_the_same_events_as_directly(string variant, string streamOptions)
    {
        var body = $$"""{"model":"tiny","prompt":"dotnet http, completions, {{variant}}: once upon a time","stream":true,"max_tokens":{{MaxTokens}},"temperature":0,"seed":42{{streamOptions}}}""";
        await WireEvents.PostStreamAsync(llama.Llama, "v1/completions", body);
        var direct = await WireEvents.PostStreamAsync(llama.Llama, "v1/completions", body);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await WireEvents.PostStreamAsync(llama.Proxy, "v1/completions", body);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));

        Assert.Equal(direct, through);
        Assert.Equal("[DONE]", through[^1]);
        // llama.cpp puts usage on the completions stream's last chunk, beside finish_reason, asked or not.
        var usage = WireEvents.Usage(through);
        Assert.NotNull(usage);
        AssertMetered(metrics, "completions", "stream", TokenUsage.From(usage));
    }

    [Fact]
    public async Task A_raw_chat_stream_that_did_not_ask_for_usage_is_event_for_event_what_llama_server_sends()
    {
        const string body = """{"model":"tiny","messages":[{"role":"user","content":"dotnet http, raw chat stream"}],"stream":true,"max_tokens":12,"temperature":0,"seed":42}""";
        await WireEvents.PostStreamAsync(llama.Llama, "v1/chat/completions", body);
        var direct = await WireEvents.PostStreamAsync(llama.Llama, "v1/chat/completions", body);
        var before = await llama.Sidecar.ScrapeAsync();
        var through = await WireEvents.PostStreamAsync(llama.Proxy, "v1/chat/completions", body);
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));

        Assert.Equal(direct, through);
        Assert.Null(WireEvents.Usage(through));
        Assert.Equal(MaxTokens, metrics.Sum("output_tokens_total", Tiny));
        Assert.Equal(MaxTokens, metrics.Sum("output_sequence_tokens_sum", Tiny));
    }

    [Fact]
    public async Task A_repeated_prompt_shows_llama_servers_prefix_cache_hits_in_cached_sequence_length()
    {
        const string prompt = "dotnet sdk, repeated prompt: the same words twice, so the second finds them cached";
        var before = await llama.Sidecar.ScrapeAsync();
        var first = (await StreamAsync(_sidecar, prompt, includeUsage: true))[^1].Usage!;
        var second = (await StreamAsync(_sidecar, prompt, includeUsage: true))[^1].Usage!;
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 2));

        Assert.True(second.Cached > 0, $"llama-server reported no cached tokens for a repeated prompt: {second}");
        Assert.Equal(2, metrics.Sum("cached_sequence_length_count", Tiny));
        Assert.Equal((double)((first.Cached ?? 0) + second.Cached!.Value), metrics.Sum("cached_sequence_length_sum", Tiny));
        Assert.True(metrics.Sum("cached_sequence_length_sum", Tiny) > 0, metrics.Describe());
        Assert.Equal(first.Input + second.Input, metrics.Sum("input_sequence_tokens_sum", Tiny));
        Assert.Equal(first.Output + second.Output, metrics.Sum("output_tokens_total", Tiny));
    }

    private static void AssertMetered(MetricsDelta metrics, string endpoint, string requestType, TokenUsage usage)
    {
        var observed = new
        {
            Requests = metrics.Sum("requests_total", ("endpoint", endpoint), ("request_type", requestType), ("status", "success"), ("error_type", "")),
            Isl = metrics.Sum("input_sequence_tokens_sum", Tiny),
            IslCount = metrics.Sum("input_sequence_tokens_count", Tiny),
            Osl = metrics.Sum("output_sequence_tokens_sum", Tiny),
            OutputTokens = metrics.Sum("output_tokens_total", Tiny),
            Cached = metrics.Sum("cached_sequence_length_sum", Tiny),
            CachedCount = metrics.Sum("cached_sequence_length_count", Tiny),
        };
        var expected = new
        {
            Requests = 1.0,
            Isl = (double)usage.Input,
            IslCount = 1.0,
            Osl = (double)usage.Output,
            OutputTokens = (double)usage.Output,
            Cached = (double)(usage.Cached ?? 0),
            CachedCount = usage.Cached is null ? 0.0 : 1.0,
        };
        Assert.True(expected.Equals(observed), $"llama-server reported {usage}; expected {expected}, the sidecar's metrics moved by {observed}:\n{metrics.Describe()}");
    }

    private static ChatCompletionOptions Sampling(bool includeUsage = true)
    {
        var options = new ChatCompletionOptions { Temperature = 0, Seed = 42, MaxOutputTokenCount = MaxTokens };
        if (!includeUsage)
        {
            // The SDK always sends stream_options.include_usage=true on a stream; a client that did not
            // ask for usage (any other SDK's default) sends no stream_options at all.
            options.Patch.Remove("$.stream_options"u8);
        }

        return options;
    }

    private static async Task<List<Update>> StreamAsync(ChatClient client, string prompt, bool includeUsage)
    {
        var updates = new List<Update>();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], Sampling(includeUsage)))
        {
            updates.Add(Update.From(update));
        }

        Assert.NotEmpty(updates);
        return updates;
    }

    private static async Task<(Update View, string RawJson)> UnaryAsync(ChatClient client, string prompt)
    {
        var result = await client.CompleteChatAsync([new UserChatMessage(prompt)], Sampling());
        var completion = result.Value;
        var view = new Update(
            completion.Role.ToString(),
            string.Concat(completion.Content.Select(p => p.Text)),
            completion.FinishReason.ToString(),
            completion.Model,
            TokenUsage.From(completion.Usage));
        return (view, WireEvents.Normalize(result.GetRawResponse().Content.ToString()));
    }

    /// <summary>What an application reads from one streaming update (or a unary completion).</summary>
    internal sealed record Update(string? Role, string Text, string? FinishReason, string? Model, TokenUsage? Usage)
    {
        public static Update From(StreamingChatCompletionUpdate update) => new(
            update.Role?.ToString(),
            string.Concat(update.ContentUpdate.Select(p => p.Text)),
            update.FinishReason?.ToString(),
            update.Model,
            update.Usage is null ? null : TokenUsage.From(update.Usage));
    }

    internal sealed record TokenUsage(int Input, int Output, int Total, int? Cached)
    {
        public static TokenUsage From(ChatTokenUsage usage) =>
            new(usage.InputTokenCount, usage.OutputTokenCount, usage.TotalTokenCount, usage.InputTokenDetails?.CachedTokenCount);

        public static TokenUsage From(JsonObject usage) => new(
            (int)usage["prompt_tokens"]!,
            (int)usage["completion_tokens"]!,
            (int)usage["total_tokens"]!,
            (int?)usage["prompt_tokens_details"]?["cached_tokens"]);
    }
}

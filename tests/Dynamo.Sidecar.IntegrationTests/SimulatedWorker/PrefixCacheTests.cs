using Dynamo.Sidecar.SimulatedWorker.PrefixCache;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class PrefixCacheTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Repeated_prompt_reports_cached_full_blocks()
    {
        // 32 (unique) + 118 = 150 bytes = 38 tokens: two full 16-token blocks and a partial one that is never cached.
        var prompt = Guid.NewGuid().ToString("N") + new string('x', 118);
        var request = $$"""{"model":"m","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":1}""";

        var first = await worker.PostUnaryAsync("/v1/chat/completions", request);
        var second = await worker.PostUnaryAsync("/v1/chat/completions", request);

        Assert.Equal(0, first.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(32, second.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(42, second.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Shared_prefix_hits_only_the_common_leading_blocks_across_apis()
    {
        var prefix = Guid.NewGuid().ToString("N") + new string('p', 32); // exactly one 64-byte block
        await worker.PostUnaryAsync("/v1/completions", $$"""{"model":"m","prompt":"{{prefix + new string('a', 64)}}","max_tokens":1}""");

        var body = await worker.PostUnaryAsync("/v1/completions", $$"""{"model":"m","prompt":"{{prefix + new string('b', 64)}}","max_tokens":1}""");

        Assert.Equal(16, body.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task Escaped_and_literal_text_are_the_same_prompt()
    {
        // 32 bytes + 16 two-byte characters = one 64-byte block, sent literally first and \u-escaped second.
        var unique = Guid.NewGuid().ToString("N");
        var literal = await worker.PostUnaryAsync(
            "/v1/completions", $$"""{"model":"m","prompt":"{{unique + new string('é', 16)}}","max_tokens":1}""");
        var escaped = await worker.PostUnaryAsync(
            "/v1/completions", $$"""{"model":"m","prompt":"{{unique + string.Concat(Enumerable.Repeat("\\u00e9", 16))}}","max_tokens":1}""");

        Assert.Equal(16, literal.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(16, escaped.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(16, escaped.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public void Blocks_chain_on_their_prefix_and_least_recently_used_ones_are_evicted()
    {
        var index = new PrefixCacheIndex(blockTokens: 1, capacity: 3);

        Assert.Equal(0, index.LookupAndRecord("aaaabbbb"u8));
        Assert.Equal(2, index.LookupAndRecord("aaaabbbb"u8));
        // Same second block after a different first block is a different block.
        Assert.Equal(0, index.LookupAndRecord("ccccbbbb"u8));
        // Capacity 3: "cccc" and "cccc|bbbb" pushed out "aaaa", the least recently used.
        Assert.Equal(0, index.LookupAndRecord("aaaa"u8));
        Assert.Equal(1, index.LookupAndRecord("cccc"u8));
    }
}

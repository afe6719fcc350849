using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class DiscoveryAndEmbeddingsTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Health_is_an_empty_200()
    {
        using var response = await worker.Client.GetAsync("/health");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Models_lists_the_simulated_model_like_vllm()
    {
        var body = JsonDocument.Parse(await worker.Client.GetStringAsync("/v1/models")).RootElement;

        var card = body.GetProperty("data")[0];
        var created = card.GetProperty("created").GetInt64();
        var permission = card.GetProperty("permission")[0];
        var permissionId = permission.GetProperty("id").GetString()!;
        Assert.Matches("^modelperm-[0-9a-f]{32}$", permissionId);
        Assert.Equal(
            $$"""{"object":"list","data":[{"id":"simulated-model","object":"model","created":{{created}},"owned_by":"vllm","root":"simulated-model","parent":null,"max_model_len":4096,"permission":[{"id":"{{permissionId}}","object":"model_permission","created":{{permission.GetProperty("created").GetInt64()}},"allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,"allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,"is_blocking":false}]}]}""",
            body.GetRawText());
    }

    [Fact]
    public async Task Metrics_count_generated_tokens()
    {
        var before = await worker.ReadMetricAsync("vllm:generation_tokens_total");

        await worker.PostUnaryAsync("/v1/completions", """{"model":"m","prompt":"x","max_tokens":7}""");

        Assert.True(await worker.ReadMetricAsync("vllm:generation_tokens_total") >= before + 7);
    }

    [Fact]
    public async Task Embeddings_return_one_unit_vector_per_input()
    {
        var body = await worker.PostUnaryAsync("/v1/embeddings", """{"model":"embedder","input":["Hello","Hello world!"]}""");

        Assert.Equal("list", body.GetProperty("object").GetString());
        Assert.Equal("embedder", body.GetProperty("model").GetString());
        var data = body.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Assert.Equal("embedding", data[i].GetProperty("object").GetString());
            var vector = data[i].GetProperty("embedding").EnumerateArray().Select(v => v.GetDouble()).ToList();
            Assert.Equal(8, vector.Count);
            Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => v * v)), precision: 4);
        }

        // "Hello" = 2 tokens, "Hello world!" = 3 tokens.
        Assert.Equal(
            """{"prompt_tokens":5,"total_tokens":5,"completion_tokens":0,"prompt_tokens_details":null}""",
            body.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Invalid_options_fail_at_start_naming_the_key()
    {
        await using var app = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=-1"]);

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Worker:TokensPerSecond", error.Message, StringComparison.Ordinal);
    }
}

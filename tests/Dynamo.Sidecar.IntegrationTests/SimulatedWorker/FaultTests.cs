using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

/// <summary>The <c>x-sim-fault</c> header: a healthy worker that cuts, stalls or fails one request on demand.</summary>
[Collection(SimulatedWorkerCollection.Name)]
public sealed class FaultTests(SimulatedWorkerFixture worker)
{
    private const string ChatStream = """{"model":"MODEL","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"stream":true}""";

    [Theory]
    [InlineData(503, "ServiceUnavailableError")]
    [InlineData(429, "RateLimitError")]
    [InlineData(400, "BadRequestError")]
    [InlineData(500, "InternalServerError")]
    public async Task Status_fault_answers_an_openai_error(int status, string type)
    {
        using var response = await worker.PostAsync("/v1/chat/completions", ChatStream.Replace("MODEL", "fault-status", StringComparison.Ordinal),
            ("x-sim-fault", $"status={status}"));

        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", error.GetProperty("object").GetString());
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal(status, error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Cut_drops_the_connection_after_n_tokens_and_counts_what_it_sent()
    {
        using var response = await worker.PostAsync("/v1/chat/completions", ChatStream.Replace("MODEL", "fault-cut", StringComparison.Ordinal),
            ("x-sim-fault", "cut-after=4"));
        Assert.Equal(200, (int)response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();

        var data = new List<string>();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync())
            {
                data.Add(item.Data);
            }
        });

        Assert.True(error is HttpRequestException or IOException, error.ToString());
        // The role chunk, then exactly four tokens; never [DONE].
        Assert.Equal(5, data.Count);
        Assert.DoesNotContain("[DONE]", data);
        Assert.Equal(4, await worker.WaitForMetricAsync("sim:output_tokens_by_request_model_total{model=\"fault-cut\"}", 4));
    }

    [Fact]
    public async Task Stall_keeps_the_connection_open_until_the_client_leaves()
    {
        var abortedBefore = await worker.ReadMetricAsync("vllm:request_aborted_total");
        using (var response = await worker.PostAsync("/v1/completions",
            """{"model":"fault-stall","prompt":"x","max_tokens":10,"stream":true}""", ("x-sim-fault", "stall-after=3")))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            using var wait = new CancellationTokenSource();
            await using var events = SseParser.Create(stream).EnumerateAsync(wait.Token).GetAsyncEnumerator();
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await events.MoveNextAsync());
            }

            // Nothing more comes while the client waits.
            wait.CancelAfter(300);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await events.MoveNextAsync());
        }

        var deadline = Stopwatch.StartNew();
        while (await worker.ReadMetricAsync("vllm:request_aborted_total") == abortedBefore)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "the stalled request did not end when the client left");
            await Task.Delay(20);
        }

        Assert.Equal(3, await worker.WaitForMetricAsync("sim:output_tokens_by_request_model_total{model=\"fault-stall\"}", 3));
    }

    [Fact]
    public async Task Unary_cut_sends_nothing()
    {
        await Assert.ThrowsAsync<HttpRequestException>(() => worker.PostAsync("/v1/chat/completions",
            """{"model":"fault-unary-cut","messages":[{"role":"user","content":"Hi"}],"max_tokens":10}""", ("x-sim-fault", "cut-after=0")));
        Assert.Equal(0, await worker.WaitForMetricAsync("sim:output_tokens_by_request_model_total{model=\"fault-unary-cut\"}", 0));
    }

    [Fact]
    public async Task A_fault_past_the_output_never_fires()
    {
        var (_, events) = await worker.PostStreamAsync("/v1/chat/completions", ChatStream.Replace("MODEL", "fault-late", StringComparison.Ordinal),
            ("x-sim-fault", "cut-after=11"));

        Assert.Equal(11, SimulatedWorkerFixture.ParseChunks(events).Count);
    }

    [Theory]
    [InlineData("cut")]
    [InlineData("status=200")]
    [InlineData("stall-after=-1")]
    public async Task Invalid_fault_header_is_a_400(string value)
    {
        using var response = await worker.PostAsync("/v1/completions", """{"model":"m","prompt":"x"}""", ("x-sim-fault", value));

        Assert.Equal(400, (int)response.StatusCode);
    }
}

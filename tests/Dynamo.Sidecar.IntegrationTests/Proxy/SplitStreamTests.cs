using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Proxy;

/// <summary>
/// The worker's stream, written in two TCP writes split at every byte offset, must give the client
/// the same bytes and <c>/metrics</c> the same values whatever the split.
/// </summary>
public sealed class SplitStreamTests
{
    public static TheoryData<string> LineEnds => new() { "\n", "\r\n", "\r" };

    [Theory]
    [MemberData(nameof(LineEnds))]
    public async Task Every_split_offset_gives_identical_bytes_and_metrics(string lineEnd)
    {
        var stream = VllmStream.Chat(new Generation("m", [" a", " b", " c"], PromptTokens: 7, CachedTokens: 0)).WithLineEnd(lineEnd);
        var workerBytes = stream.Bytes;
        var split = 0;
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendChunkAsync(workerBytes.AsMemory(0, split));
            await Task.Delay(1);
            await exchange.SendChunkAsync(workerBytes.AsMemory(split));
            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);

        for (split = 0; split <= workerBytes.Length; split++)
        {
            var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", """{"model":"m","stream":true}""");
            Assert.True(stream.BodyWithoutUsage == Encoding.UTF8.GetString(body), $"split at {split}: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        var requests = workerBytes.Length + 1;
        var metrics = await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") == requests);
        Assert.Equal(requests, metrics.Value("dynamo_frontend_requests_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")));
        Assert.Equal(3 * requests, metrics.Value("dynamo_frontend_output_tokens_total", ("model", "m")));
        Assert.Equal(7 * requests, metrics.Value("dynamo_frontend_input_sequence_tokens_sum", ("model", "m")));
        Assert.Equal(requests, metrics.Value("dynamo_frontend_time_to_first_token_seconds_count", ("model", "m")));
        Assert.Equal(2 * requests, metrics.Value("dynamo_frontend_inter_token_latency_seconds_count", ("model", "m")));
        Assert.Equal(0, metrics.Value("dynamo_frontend_inflight_requests", ("model", "m")));
    }
}

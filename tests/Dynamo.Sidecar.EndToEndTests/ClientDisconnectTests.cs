using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text;
using Dynamo.Sidecar.EndToEndTests.Support;
using Xunit.Abstractions;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>A client that hangs up mid-stream stops llama-server's generation, and the sidecar counts it as cancelled.</summary>
[Collection(LlamaCollection.Name)]
public sealed class ClientDisconnectTests(LlamaFixture llama, ITestOutputHelper output)
{
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_makes_llama_server_stop_generating()
    {
        // 100000 tokens with ignore_eos and context shift: minutes of work for llama-server
        // (a few hundred tokens/s once the 2048-token slot is full), so only an abort frees the slot in seconds.
        const string body = """{"model":"tiny","messages":[{"role":"user","content":"disconnect: never stop talking"}],"stream":true,"max_tokens":100000,"ignore_eos":true,"temperature":0}""";
        await WaitForIdleSlotsAsync(TimeSpan.FromSeconds(10));
        var before = await llama.Sidecar.ScrapeAsync();

        // A client of its own that hangs up at once: by default HttpClient drains an unread body for up to
        // 2 s to reuse the connection, which would keep the stream open on the client's side.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero })
        {
            BaseAddress = llama.Sidecar.ProxyAddress,
        };
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(200, (int)response.StatusCode);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            var read = 0;
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(cts.Token))
            {
                if (++read == 20)
                {
                    break;
                }
            }

            Assert.Equal(20, read);
            Assert.Equal(1, await llama.BusySlotsAsync());
            // Leaving the block disposes the response mid-body, and the connection with it.
        }

        var stopped = Stopwatch.StartNew();
        while (await llama.BusySlotsAsync() > 0)
        {
            Assert.True(
                stopped.Elapsed < StopDeadline,
                $"llama-server still generating {StopDeadline.TotalSeconds:0} s after the client disconnected; its output:\n{llama.LlamaOutput}");
            await Task.Delay(50);
        }

        output.WriteLine($"llama-server's slot went idle {stopped.ElapsedMilliseconds} ms after the client disconnected");
        var metrics = new MetricsDelta(before, await llama.Sidecar.ScrapeAfterAsync(before, 1));
        var cancelled = metrics.Sum(
            "requests_total",
            ("endpoint", "chat_completions"),
            ("request_type", "stream"),
            ("status", "error"),
            ("error_type", "cancelled"));
        Assert.True(cancelled == 1, $"the sidecar did not count the disconnect as cancelled:\n{metrics.Describe()}");
        Assert.Equal(1, metrics.Sum("model_cancellation_total", ("model", LlamaFixture.Model)));
        Assert.Equal(1, metrics.Sum("disconnected_clients"));
        Assert.Equal(0, metrics.After.Sum("dynamo_frontend_inflight_requests"));
        Assert.True(metrics.Sum("output_tokens_total", ("model", LlamaFixture.Model)) >= 19, metrics.Describe());
    }

    private async Task WaitForIdleSlotsAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await llama.BusySlotsAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "llama-server was still busy before the test started");
            await Task.Delay(50);
        }
    }
}

using System.Globalization;
using System.Text.Json;
using Dynamo.Sidecar.EndToEndTests.Support;
using OpenAI.Chat;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// A real Prometheus (Debian's) scrapes the sidecar's admin port every second, and the queries a
/// Dynamo dashboard runs give the answers the traffic calls for.
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class PrometheusScrapeTests(LlamaFixture llama)
{
    private static readonly TimeSpan QueryDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Prometheus_scraping_the_admin_port_sums_the_tokens_llama_server_generated_and_computes_a_ttft_quantile()
    {
        var deps = TestDependencies.Current;
        var promBinary = deps.Prometheus;

        // A sidecar of its own, so its counters start at zero and hold this test's traffic only.
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, llama.LlamaAddress.ToString());
        var client = LlamaFixture.ChatClientFor(sidecar.ProxyAddress);
        var work = Directory.CreateTempSubdirectory("dynamo-sidecar-e2e-prometheus-");
        try
        {
            await using var prometheus = await PrometheusServer.StartAsync(promBinary, work.FullName, sidecar.AdminAddress);
            using var api = new HttpClient { BaseAddress = prometheus.Address, Timeout = TimeSpan.FromSeconds(10) };

            // rate() needs the series to grow between two scrapes, and a labelled series only exists after
            // its first observation: stream once, wait until Prometheus has it, then stream again.
            var generated = await StreamAsync(client, "prometheus, first batch", 8);
            await PollAsync(api, "sum(dynamo_frontend_time_to_first_token_seconds_count)", v => v >= 1, prometheus.Process);
            generated += await StreamAsync(client, "prometheus, second batch: one", 16);
            generated += await StreamAsync(client, "prometheus, second batch: two", 24);

            var tokens = await PollAsync(api, "sum(dynamo_frontend_output_tokens_total)", v => v == generated, prometheus.Process);
            Assert.Equal(generated, tokens);
            var p90 = await PollAsync(
                api,
                "histogram_quantile(0.9, sum by (le) (rate(dynamo_frontend_time_to_first_token_seconds_bucket[1m])))",
                double.IsFinite,
                prometheus.Process);
            Assert.True(double.IsFinite(p90) && p90 >= 0, $"p90 TTFT is {p90}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Streams a chat that asks for usage and returns the completion tokens llama-server reported.</summary>
    private static async Task<int> StreamAsync(ChatClient client, string prompt, int maxTokens)
    {
        var options = new ChatCompletionOptions { Temperature = 0, Seed = 42, MaxOutputTokenCount = maxTokens };
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], options))
        {
            usage = update.Usage ?? usage;
        }

        Assert.NotNull(usage);
        return usage.OutputTokenCount;
    }

    /// <summary>Runs an instant query until its single value satisfies <paramref name="done"/>; returns the last value.</summary>
    private static async Task<double> PollAsync(HttpClient api, string query, Func<double, bool> done, ServerProcess prometheus)
    {
        var deadline = DateTime.UtcNow + QueryDeadline;
        var last = "no result yet";
        while (true)
        {
            using var response = await api.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query));
            var body = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var result = json.RootElement.GetProperty("data").GetProperty("result");
                if (result.GetArrayLength() == 1)
                {
                    var value = double.Parse(result[0].GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
                    if (done(value))
                    {
                        return value;
                    }
                }
            }

            last = body;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Prometheus query `{query}` did not give the expected value within {QueryDeadline.TotalSeconds:0} s; last answer: {last}\nPrometheus output:\n{prometheus.Output}");
            }

            await Task.Delay(250);
        }
    }
}

using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// Exemplars end to end: a request with a sampled trace streams through the sidecar to a real llama-server, and
/// Debian's Prometheus, started with exemplar storage, scrapes the admin port in OpenMetrics and answers
/// <c>/api/v1/query_exemplars</c> with that request's trace id on TTFT, duration and output tokens.
/// </summary>
[Collection(LlamaCollection.Name)]
public sealed class PrometheusExemplarTests(LlamaFixture llama)
{
    private const string TraceId = "7c0ffee5a11ce0ddba5eba11deadbeef";

    private static readonly TimeSpan QueryDeadline = TimeSpan.FromSeconds(30);

    private static readonly string[] Families =
    [
        "dynamo_frontend_time_to_first_token_seconds_bucket",
        "dynamo_frontend_request_duration_seconds_bucket",
        "dynamo_frontend_output_sequence_tokens_bucket",
    ];

    [Fact]
    public async Task Prometheus_returns_the_trace_id_of_a_sampled_request_as_its_exemplar()
    {
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, llama.LlamaAddress.ToString(), "Sidecar:Exemplars=true");
        var work = Directory.CreateTempSubdirectory("dynamo-sidecar-e2e-exemplars-");
        try
        {
            await using var prometheus = await PrometheusServer.StartAsync(TestDependencies.Current.Prometheus, work.FullName, sidecar.AdminAddress, "exemplar-storage");
            using var api = new HttpClient { BaseAddress = prometheus.Address, Timeout = TimeSpan.FromSeconds(10) };
            var start = DateTimeOffset.UtcNow.AddMinutes(-1);

            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent(
                    $$"""{"model":"{{LlamaFixture.Model}}","stream":true,"max_tokens":8,"temperature":0,"messages":[{"role":"user","content":"exemplars"}]}""",
                    Encoding.UTF8,
                    "application/json"),
            };
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
            using var response = await sidecar.Client.SendAsync(request);
            Assert.Contains("[DONE]", await response.Content.ReadAsStringAsync());

            foreach (var family in Families)
            {
                var traceIds = await PollExemplarsAsync(api, family, start, prometheus.Process);
                Assert.Contains(TraceId, traceIds);
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Queries the exemplars of a family until there are some; returns their trace ids.</summary>
    private static async Task<List<string>> PollExemplarsAsync(HttpClient api, string family, DateTimeOffset start, ServerProcess prometheus)
    {
        var deadline = DateTime.UtcNow + QueryDeadline;
        var last = "no answer yet";
        while (true)
        {
            var end = DateTimeOffset.UtcNow.AddMinutes(1);
            using var response = await api.GetAsync($"api/v1/query_exemplars?query={Uri.EscapeDataString(family)}&start={start.ToUnixTimeSeconds()}&end={end.ToUnixTimeSeconds()}");
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(last);
                var traceIds = json.RootElement.GetProperty("data").EnumerateArray()
                    .SelectMany(series => series.GetProperty("exemplars").EnumerateArray())
                    .Select(exemplar => exemplar.GetProperty("labels").TryGetProperty("trace_id", out var id) ? id.GetString()! : "")
                    .ToList();
                if (traceIds.Count > 0)
                {
                    return traceIds;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Prometheus had no exemplar of {family} within {QueryDeadline.TotalSeconds:0} s; last answer: {last}\nPrometheus output:\n{prometheus.Output}");
            }

            await Task.Delay(250);
        }
    }
}

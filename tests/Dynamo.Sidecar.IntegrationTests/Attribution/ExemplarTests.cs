using System.Net.Http.Headers;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Attribution;

/// <summary>
/// <c>Sidecar:Exemplars</c>: a request with a sampled trace leaves its <c>trace_id</c> as the exemplar of its TTFT,
/// duration and output-token observations in the OpenMetrics exposition; other requests leave none, and with the
/// switch off <c>/metrics</c> is exactly what it was.
/// </summary>
[Collection(TracingCollection.Name)]
public sealed class ExemplarTests
{
    private const string Model = "exemplar-model";
    private const string SampledTrace = "5bf92f3577b34da6a3ce929d0e0e4736";
    private const string UnsampledTrace = "6bf92f3577b34da6a3ce929d0e0e4736";

    private static readonly WorkerStream Stream = VllmStream.Chat(new Generation(Model, [" a", " b"], PromptTokens: 5, CachedTokens: 0));

    public static readonly string[] ExemplarFamilies =
    [
        "dynamo_frontend_time_to_first_token_seconds_bucket",
        "dynamo_frontend_request_duration_seconds_bucket",
        "dynamo_frontend_output_sequence_tokens_bucket",
    ];

    [Fact]
    public async Task A_sampled_client_trace_is_the_exemplar_of_ttft_duration_and_output_tokens()
    {
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:Exemplars=true");

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest(), $"traceparent: 00-{SampledTrace}-00f067aa0ba902b7-01");
        await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_request_duration_seconds_count") == 1);
        var (contentType, exposition) = await ScrapeOpenMetricsAsync(sidecar);

        Assert.StartsWith("application/openmetrics-text; version=1.0.0", contentType);
        foreach (var family in ExemplarFamilies)
        {
            Assert.Contains(exposition.Split('\n'), line => line.StartsWith(family, StringComparison.Ordinal) && line.Contains($"# {{trace_id=\"{SampledTrace}\"}}", StringComparison.Ordinal));
        }

        Assert.EndsWith("# EOF\n", exposition);
        Assert.Equal(1, CountOccurrences(exposition, "# EOF"));
        // The process families follow the sidecar's in the same exposition.
        Assert.Contains("process_cpu_seconds_total", exposition);
    }

    [Fact]
    public async Task With_tracing_on_the_sidecars_own_trace_is_the_exemplar()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, [.. receiver.SidecarSettings, "Sidecar:Exemplars=true"]);

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest());
        await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_request_duration_seconds_count") == 1);
        var (_, exposition) = await ScrapeOpenMetricsAsync(sidecar);

        var traceId = Assert.Single(Assert.Single(worker.Exchanges).RequestHead.Split("\r\n"), l => l.StartsWith("traceparent:", StringComparison.Ordinal)).Split('-')[1];
        Assert.Single(await receiver.WaitForTraceAsync(traceId));
        foreach (var family in ExemplarFamilies)
        {
            Assert.Contains(exposition.Split('\n'), line => line.StartsWith(family, StringComparison.Ordinal) && line.Contains($"# {{trace_id=\"{traceId}\"}}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task An_unsampled_or_absent_trace_leaves_no_exemplar()
    {
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:Exemplars=true");

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest(), $"traceparent: 00-{UnsampledTrace}-00f067aa0ba902b7-00");
        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest());
        await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_request_duration_seconds_count") == 2);
        var (_, exposition) = await ScrapeOpenMetricsAsync(sidecar);

        Assert.DoesNotContain("trace_id", exposition);
    }

    [Fact]
    public async Task With_exemplars_off_an_OpenMetrics_scraper_gets_the_usual_text_format_without_exemplars()
    {
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest(), $"traceparent: 00-{SampledTrace}-00f067aa0ba902b7-01");
        await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_request_duration_seconds_count") == 1);
        var (contentType, exposition) = await ScrapeOpenMetricsAsync(sidecar);

        Assert.StartsWith("text/plain; version=0.0.4", contentType);
        Assert.DoesNotContain("trace_id", exposition);
        Assert.DoesNotContain("# EOF", exposition);
    }

    [Fact]
    public async Task With_exemplars_on_a_text_format_scraper_gets_the_usual_text_format()
    {
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:Exemplars=true");

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest(), $"traceparent: 00-{SampledTrace}-00f067aa0ba902b7-01");
        var metrics = await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_request_duration_seconds_count") == 1);

        Assert.DoesNotContain("trace_id", metrics.Raw);
        Assert.Equal(2, metrics.Value("dynamo_frontend_output_sequence_tokens_sum", ("model", Model)));
    }

    internal static async Task<(string ContentType, string Exposition)> ScrapeOpenMetricsAsync(SidecarHost sidecar)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        // What Prometheus sends.
        request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0;q=0.5");
        request.Headers.Accept.ParseAdd("text/plain;version=0.0.4;q=0.4");
        request.Headers.Accept.ParseAdd("*/*;q=0.1");
        using var response = await sidecar.AdminClient.SendAsync(request);
        return (response.Content.Headers.ContentType!.ToString(), await response.Content.ReadAsStringAsync());
    }

    private static int CountOccurrences(string text, string value) => (text.Length - text.Replace(value, "", StringComparison.Ordinal).Length) / value.Length;

    private static RawSocketWorker StreamingWorker() => new(async exchange =>
    {
        await exchange.SendHeadAsync();
        await exchange.SendChunkAsync(Stream.Bytes);
        await exchange.SendEndAsync();
    });

    private static string ChatRequest() =>
        $$"""{"model":"{{Model}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
}

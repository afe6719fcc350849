using System.Text;
using Microsoft.AspNetCore.Http;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Shapes;
using Dynamo.Sidecar.IntegrationTests.Support;
using Xunit.Abstractions;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Hostile;

/// <summary>Runs alone, so the managed heap it measures is the sidecar's, not another test's.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ModelFloodCollection
{
    public const string Name = "model flood";
}

/// <summary>
/// 10,000 distinct model names, some with quotes, backslashes and newlines: the label stays bounded at
/// <c>MaxModels</c> (100) + <c>unknown_model</c>, the scrape stops growing once the cap is reached, memory
/// stays flat, every admitted odd name is escaped, and the gauges come back to 0.
/// </summary>
[Collection(ModelFloodCollection.Name)]
public sealed class ModelFloodTests(ITestOutputHelper output)
{
    private const int Names = 10_000;
    private const int Warmup = 1_000;
    private const int Concurrency = 16;
    // vLLM's answer: 3 prompt tokens, 1 completion token.
    private static readonly string Answer = VllmStream.ChatUnary(new Generation("m", ["ok"], PromptTokens: 3));

    [Fact]
    public async Task Ten_thousand_model_names_keep_the_label_scrape_and_heap_bounded()
    {
        await using var worker = await KestrelWorker.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Answer);
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        var names = Enumerable.Range(0, Names).Select(Name).ToArray();

        // The first 1,000 fill the cap and warm every pool; what follows must cost nothing that stays.
        await SendAllAsync(sidecar, names[..Warmup]);
        var capped = await sidecar.ScrapeAfterAsync(MetricsText.Parse(""), Warmup);
        var cappedBytes = Encoding.UTF8.GetByteCount(capped.Raw);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        await SendAllAsync(sidecar, names[Warmup..]);

        var after = await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var afterBytes = Encoding.UTF8.GetByteCount(after.Raw);
        output.WriteLine($"requests {Names}, scrape {cappedBytes} B at the cap, {afterBytes} B after; managed heap {heapBefore} B before, {heapAfter} B after");

        Assert.Equal(Names, after.Sum("dynamo_frontend_requests_total"));
        var labels = after.Raw.Split('\n').Where(l => l.StartsWith("dynamo_frontend_inflight_requests{", StringComparison.Ordinal)).ToArray();
        Assert.Equal(101, labels.Length);
        Assert.Equal(Names - 100, after.Value("dynamo_frontend_requests_total",
            ("model", "unknown_model"), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "success"), ("error_type", "")));
        // Requests race, so which 100 names were admitted first varies; each of them was sent once.
        Assert.Equal(100, after.Sum("dynamo_frontend_requests_started_total") - after.Sum("dynamo_frontend_requests_started_total", ("model", "unknown_model")));

        // Exposition: one line per sample, so an unescaped newline or quote would break a line's shape.
        Assert.Matches(@"model=""odd \\""\d+\\"" back\\\\slash\\nnewline""", after.Raw);
        Assert.All(after.Raw.Split('\n', StringSplitOptions.RemoveEmptyEntries), line =>
            Assert.True(line.StartsWith('#') || line.StartsWith("dynamo_frontend_", StringComparison.Ordinal) || line.Contains(' ', StringComparison.Ordinal), line));
        // Only counter digits grow after the cap (e.g. 900 to 9900): no new series.
        Assert.True(afterBytes - cappedBytes < 1024, $"the scrape grew from {cappedBytes} to {afterBytes} bytes");
        Assert.True(heapAfter - heapBefore < 8 * 1024 * 1024, $"the managed heap grew from {heapBefore} to {heapAfter} bytes");
    }

    /// <summary>Every tenth name carries a quote, a backslash and a newline.</summary>
    private static string Name(int i) => i % 10 == 0 ? $"odd \"{i}\" back\\slash\nnewline" : $"model-{i}";

    private static Task SendAllAsync(SidecarHost sidecar, string[] models) =>
        Parallel.ForEachAsync(models, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (model, ct) =>
        {
            var body = JsonSerializer.Serialize(new { model, messages = Array.Empty<object>() });
            var (response, _) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", body);
            Assert.Equal(200, (int)response.StatusCode);
        });
}

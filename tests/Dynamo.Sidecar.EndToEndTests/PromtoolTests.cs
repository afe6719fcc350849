using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>Prometheus' own linter accepts the sidecar's exposition, every family populated.</summary>
[Collection(LlamaCollection.Name)]
public sealed class PromtoolTests(LlamaFixture llama)
{
    [Fact]
    public async Task Promtool_check_metrics_accepts_the_admin_ports_metrics()
    {
        var promtool = TestDependencies.Current.Promtool;
        // A streamed and a unary request, so counters, gauges and every histogram have a labelled series.
        await WireEvents.PostStreamAsync(llama.Proxy, "v1/chat/completions",
            """{"model":"tiny","messages":[{"role":"user","content":"promtool"}],"stream":true,"max_tokens":4,"temperature":0}""");
        using (var unary = await llama.Proxy.PostAsync("v1/chat/completions", new StringContent(
            """{"model":"tiny","messages":[{"role":"user","content":"promtool"}],"max_tokens":4,"temperature":0}""",
            System.Text.Encoding.UTF8,
            "application/json")))
        {
            Assert.Equal(200, (int)unary.StatusCode);
        }

        // Both answers were read to the end; wait for their accounting to close (nothing in flight).
        await llama.Sidecar.ScrapeAfterAsync(await llama.Sidecar.ScrapeAsync(), 0);
        var text = await llama.Sidecar.ScrapeTextAsync();
        Assert.Contains("dynamo_frontend_time_to_first_token_seconds_bucket", text, StringComparison.Ordinal);

        var result = await ChildProcess.RunAsync(promtool, ["check", "metrics"], standardInput: text, timeout: TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, $"promtool check metrics rejected the sidecar's /metrics: {result}\n--- /metrics ---\n{text}");
    }
}

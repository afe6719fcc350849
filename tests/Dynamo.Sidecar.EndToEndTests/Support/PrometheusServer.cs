namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>Debian's Prometheus, scraping one target every second, with storage in a directory of the test's.</summary>
internal sealed record PrometheusServer(ServerProcess Process, Uri Address) : IAsyncDisposable
{
    /// <param name="features">Values of <c>--enable-feature</c>, e.g. <c>exemplar-storage</c>.</param>
    public static async Task<PrometheusServer> StartAsync(string binary, string work, Uri target, params string[] features)
    {
        var config = Path.Combine(work, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: dynamo-sidecar
                static_configs:
                  - targets: ["{target.Authority}"]
            """);

        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var storage = Path.Combine(work, $"data-{attempt}");
            var process = ServerProcess.Start("prometheus", binary,
            [
                $"--config.file={config}",
                $"--storage.tsdb.path={storage}",
                $"--web.listen-address=127.0.0.1:{port}",
                .. features.Select(f => $"--enable-feature={f}"),
            ]);
            var address = new Uri($"http://127.0.0.1:{port}/");
            try
            {
                await process.WaitUntilReadyAsync(new Uri(address, "-/ready"), TimeSpan.FromSeconds(30));
                return new PrometheusServer(process, address);
            }
            catch (InvalidOperationException) when (attempt < 3 && process.HasExited && process.Output.Contains("address already in use", StringComparison.Ordinal))
            {
                await process.DisposeAsync();
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

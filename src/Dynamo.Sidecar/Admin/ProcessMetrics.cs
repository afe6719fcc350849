using Prometheus;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// The sidecar process's own health, served on <c>/metrics</c> after the traffic's families: managed heap
/// (<c>dotnet_total_memory_bytes</c>), GC counts, RSS, CPU, threads, read at scrape time only. A registry of its
/// own, so the traffic registry's scrapes stay deterministic for the tests that compare them whole. Unlike
/// prometheus-net's default event-counter adapter, these names pass <c>promtool check metrics</c>.
/// </summary>
internal sealed class ProcessMetrics
{
    public ProcessMetrics() => DotNetStats.Register(Registry);

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
}

using System.Globalization;
using System.Text.RegularExpressions;
using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// <c>Sidecar:IdleTrimAfter</c> in the published binary: once a burst of traffic has ended and the quiet lasted the
/// setting, one aggressive collection gives the heap back (logged at Debug with the resident MiB before and after);
/// no traffic (<see cref="SidecarProcess"/> waits for the listeners without a request), or the setting at 0, never
/// trims. The trimmer reads quiet every 250 ms, so the tests wait for its line with generous deadlines and wait several
/// periods before concluding that none comes.
/// </summary>
public sealed partial class IdleHeapTrimTests(FullSpeedWorker worker) : IClassFixture<FullSpeedWorker>
{
    private const string TrimAfter = "00:00:00.5";
    private const int Requests = 200;

    // Long enough for several trim periods and ticks, even on a loaded machine.
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(4);

    private static readonly string[] DebugTrimLog = ["Logging:LogLevel:Dynamo.Sidecar.Hosting.IdleHeapTrimmer=Debug"];

    private string WorkerAddress => worker.Address;

    [Fact]
    public async Task After_a_burst_the_quiet_binary_trims_its_heap_once_and_holds_less_memory()
    {
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, WorkerAddress, [.. DebugTrimLog, $"Sidecar:IdleTrimAfter={TrimAfter}"]);

        await BurstAsync(sidecar);
        // A trim while the burst ran (the client stalled long enough on a loaded machine) is not the one looked for.
        var duringBurst = Trims(sidecar).Count;
        await Poll.UntilAsync(() => Trims(sidecar).Count > duringBurst, $"the heap was trimmed after the burst; the output:\n{sidecar.Output}");
        await Task.Delay(Quiet);

        var trim = Assert.Single(Trims(sidecar).Skip(duringBurst));
        Assert.True(trim.AfterMiB < trim.BeforeMiB, $"resident {trim.BeforeMiB} MiB before the trim, {trim.AfterMiB} MiB after");
    }

    [Fact]
    public async Task Without_traffic_the_binary_never_trims()
    {
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, WorkerAddress, [.. DebugTrimLog, $"Sidecar:IdleTrimAfter={TrimAfter}"]);

        await Task.Delay(Quiet);

        Assert.True(Trims(sidecar).Count == 0, sidecar.Output);
    }

    [Fact]
    public async Task With_IdleTrimAfter_0_the_binary_never_trims_after_a_burst()
    {
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, WorkerAddress, [.. DebugTrimLog, "Sidecar:IdleTrimAfter=00:00:00"]);

        await BurstAsync(sidecar);
        await Task.Delay(Quiet);

        Assert.True(Trims(sidecar).Count == 0, sidecar.Output);
    }

    /// <summary>
    /// <see cref="Requests"/> streamed chats, eight at a time: far more than the trimmer's 256 KiB per 250 ms tick of
    /// allocation, so it counts as traffic.
    /// </summary>
    private static async Task BurstAsync(SidecarProcess sidecar)
    {
        var before = await sidecar.ScrapeAsync();
        const string chat = """{"model":"trim-model","stream":true,"max_tokens":32,"messages":[{"role":"user","content":"Fill the heap a little"}]}""";
        await Parallel.ForEachAsync(
            Enumerable.Range(0, Requests),
            new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (_, _) => Assert.Equal("[DONE]", (await WireEvents.PostStreamAsync(sidecar.Client, "v1/chat/completions", chat))[^1]));
        var delta = await MetricsDelta.AfterAsync(sidecar, before, Requests);
        Assert.True(delta.Sum("requests_total", ("status", "success")) == Requests, delta.Describe());
    }

    private static List<(double BeforeMiB, double AfterMiB)> Trims(SidecarProcess sidecar) =>
        [.. sidecar.OutputLines
            .Select(line => TrimLine().Match(line))
            .Where(match => match.Success)
            .Select(match => (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture)))];

    // Log.IdleHeapTrimmed, in the Dynamo.Sidecar.Hosting.IdleHeapTrimmer category.
    [GeneratedRegex(@"Dynamo\.Sidecar\.Hosting\.IdleHeapTrimmer\[6\] Quiet: returned the heap to the system, resident (\d+(?:\.\d+)?) MiB -> (\d+(?:\.\d+)?) MiB")]
    private static partial Regex TrimLine();
}

using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// <c>report DIR</c>: the table of a bench/run.sh run and the issue's four targets, from the <c>--json</c>
/// results it wrote as <c>DIR/{scenario}-{target}.json</c>. Markdown, so it can go into docs/benchmarks.md as is.
/// </summary>
internal static class BenchReport
{
    private static readonly string[] Scenarios = ["throughput", "latency", "scale"];
    private static readonly string[] Targets = ["direct", "nginx", "yarp", "sidecar"];
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count != 1 || !Directory.Exists(args[0]))
        {
            output.WriteLine("usage: report DIR   (DIR holds {throughput,latency,scale}-{direct,nginx,yarp,sidecar}.json)");
            return 2;
        }

        var results = new Dictionary<(string, string), LoadResult>();
        foreach (var scenario in Scenarios)
        {
            foreach (var target in Targets)
            {
                var path = Path.Combine(args[0], $"{scenario}-{target}.json");
                if (File.Exists(path))
                {
                    results[(scenario, target)] = LoadResult.Read(path);
                }
            }
        }

        var text = new StringBuilder();
        foreach (var scenario in Scenarios)
        {
            var rows = Targets.Where(t => results.ContainsKey((scenario, t))).Select(t => (Target: t, Result: results[(scenario, t)])).ToArray();
            if (rows.Length == 0)
            {
                continue;
            }

            var first = rows[0].Result;
            text.AppendLine(C, $"#### {scenario}: {first.Streams} streams x {first.Tokens} tokens, worker at {(first.Rate is 0 or null ? "full speed" : $"{first.Rate} tokens/s")}");
            text.AppendLine();
            text.AppendLine("| target | events/s | TTFT p50 / p99 ms | gap p50 / p99 ms | added gap p50 / p99 ms | proxy CPU s | proxy CPU µs/event | proxy RSS idle / peak (VmHWM) MiB | proxy KiB per open stream | load tool CPU s (cores) | machine load (1 min) | errors |");
            text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (target, r) in rows)
            {
                var p = r.Proxy;
                text.AppendLine(C, $"| {target} | {r.EventsPerSecond:N0} | {Pair(r.TtftMs)} | {Pair(r.GapMs)} | {Pair(r.AddedGapMs)} | "
                    + $"{(p is null ? "-" : p.CpuSeconds.ToString("F2", C))} | {(p?.CpuMicrosecondsPerEvent is { } us ? us.ToString("F2", C) : "-")} | "
                    + $"{(p is null ? "-" : $"{Mib(p.RssIdleBytes)} / {Mib(p.VmHwmBytes)}")} | {(p?.RssPerOpenStreamBytes is { } b ? (b / 1024.0).ToString("F1", C) : "-")} | "
                    + $"{r.LoadToolCpuSeconds:F2} ({r.LoadToolCores:F2}) | {string.Join(" → ", r.LoadAverage.Select(l => l.ToString("F1", C)))} | {r.Errors} |");
            }

            text.AppendLine();
        }

        text.AppendLine("#### Targets (issue \"Fast and measured\")");
        text.AppendLine();
        text.AppendLine("| target | measured | verdict |");
        text.AppendLine("|---|---|---|");
        var sidecarT = results.GetValueOrDefault(("throughput", "sidecar"));
        var yarpT = results.GetValueOrDefault(("throughput", "yarp"));

        Verdict(text, "sidecar CPU per streamed event ≤ 1.15 × plain YARP (throughput)",
            sidecarT?.Proxy?.CpuMicrosecondsPerEvent is { } s && yarpT?.Proxy?.CpuMicrosecondsPerEvent is { } y && y > 0
                ? (string.Create(C, $"{s:F2} vs {y:F2} µs/event = {s / y:F2}×"), s / y <= 1.15)
                : null);
        Verdict(text, "sidecar events/s ≥ 0.9 × plain YARP (throughput)",
            sidecarT is { } st && yarpT is { } yt && yt.EventsPerSecond > 0
                ? (string.Create(C, $"{st.EventsPerSecond:N0} vs {yt.EventsPerSecond:N0} events/s = {st.EventsPerSecond / yt.EventsPerSecond:F2}×"), st.EventsPerSecond / yt.EventsPerSecond >= 0.9)
                : null);
        Verdict(text, "added p99 gap per event vs direct ≤ 1 ms (latency, sidecar)",
            results.GetValueOrDefault(("latency", "sidecar"))?.AddedGapMs is { } added
                ? (string.Create(C, $"{added.P99:F3} ms (p50 {added.P50:F3} ms)"), added.P99 <= 1.0)
                : null);
        Verdict(text, "memory per open stream ≤ 32 KB (scale, sidecar)",
            results.GetValueOrDefault(("scale", "sidecar")) is { Proxy.RssPerOpenStreamBytes: { } perStream } scale
                ? (string.Create(C, $"{perStream / 1024.0:F1} KiB ((RSS with {scale.Streams} streams open − idle RSS) / {scale.Streams})"), perStream <= 32 * 1024)
                : null);

        // For reference, not a target: the same ratio when every event is its own read and write (no coalescing).
        var sidecarL = results.GetValueOrDefault(("latency", "sidecar"));
        var yarpL = results.GetValueOrDefault(("latency", "yarp"));
        if (sidecarL?.Proxy?.CpuMicrosecondsPerEvent is { } sl && yarpL?.Proxy?.CpuMicrosecondsPerEvent is { } yl && yl > 0)
        {
            text.AppendLine(C, $"| (reference) sidecar CPU per streamed event vs plain YARP (latency: one event per read) | {sl:F2} vs {yl:F2} µs/event = {sl / yl:F2}× | - |");
        }

        output.Write(text.ToString());
        return 0;
    }

    private static void Verdict(StringBuilder text, string target, (string Measured, bool Met)? outcome) =>
        text.AppendLine(C, $"| {target} | {outcome?.Measured ?? "not measured"} | {(outcome is null ? "-" : outcome.Value.Met ? "**met**" : "**missed**")} |");

    private static string Pair(Percentiles? p) => p is null ? "-" : string.Create(C, $"{p.P50:F3} / {p.P99:F3}");

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", C);
}

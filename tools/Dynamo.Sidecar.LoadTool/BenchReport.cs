using System.Globalization;
using System.Text;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// <c>report DIR</c>: the table of a bench/run.sh run and the issue's four targets, from the <c>--json</c>
/// results it wrote as <c>DIR/{scenario}-{target}.json</c>. Markdown, so it can go into docs/benchmarks.md as is.
/// </summary>
internal static class BenchReport
{
    private static readonly string[] Scenarios = ["paced", "unary", "throughput", "latency", "scale"];
    private static readonly string[] Targets = ["direct", "nginx", "yarp", "sidecar", "portkey"];
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count != 1 || !Directory.Exists(args[0]))
        {
            output.WriteLine("usage: report DIR   (DIR holds {paced,unary,throughput,latency,scale}-{direct,nginx,yarp,sidecar,portkey}.json)");
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
        PacedTable(text, results);
        UnaryTable(text, results);
        foreach (var scenario in Scenarios.Skip(2))
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

        if (!Scenarios.Skip(2).Any(scenario => Targets.Any(t => results.ContainsKey((scenario, t)))))
        {
            Issue12Targets(text, results);
            output.Write(text.ToString());
            return 0;
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

        Issue12Targets(text, results);
        output.Write(text.ToString());
        return 0;
    }

    private static (string Target, LoadResult Result)[] Rows(Dictionary<(string, string), LoadResult> results, string scenario) =>
        [.. Targets.Where(t => results.ContainsKey((scenario, t))).Select(t => (t, results[(scenario, t)]))];

    /// <summary>The headline: CPU per event, memory and time to first token with every stream open, side by side.</summary>
    private static void PacedTable(StringBuilder text, Dictionary<(string, string), LoadResult> results)
    {
        var rows = Rows(results, "paced");
        if (rows.Length == 0)
        {
            return;
        }

        var first = rows[0].Result;
        var nginx = results.GetValueOrDefault(("paced", "nginx"))?.Proxy?.CpuMicrosecondsPerEvent;
        var yarp = results.GetValueOrDefault(("paced", "yarp"))?.Proxy?.CpuMicrosecondsPerEvent;
        text.AppendLine(C, $"#### paced: {first.Streams} streams at {first.Rate} tokens/s, one event per write, all open through a {first.WindowSeconds:F0} s window; TTFT probes on fresh connections");
        text.AppendLine();
        text.AppendLine("| target | events/s | streams closed in window | proxy CPU µs/event | × nginx | × plain YARP | idle RSS MiB | KiB per open stream | probe TTFT p50 / p99 / max ms | added TTFT p50 / p99 ms | load tool cores | machine load (1 min) | errors |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (target, r) in rows)
        {
            var us = r.Proxy?.CpuMicrosecondsPerEvent;
            text.AppendLine(C, $"| {target} | {r.EventsPerSecond:N0} | {r.StreamsClosedInWindow?.ToString(C) ?? "-"} | {F2(us)} | {Ratio(us, nginx)} | {Ratio(us, yarp)} | "
                + $"{(r.Proxy is { } p ? Mib(p.RssIdleBytes) : "-")} | {(r.Proxy?.RssPerOpenStreamBytes is { } b ? (b / 1024.0).ToString("F1", C) : "-")} | "
                + $"{Triple(r.ProbeTtftMs)} | {Pair(r.AddedProbeTtftMs)} | {r.LoadToolCores:F2} | {string.Join(" → ", r.LoadAverage.Select(l => l.ToString("F1", C)))} | {r.Errors} |");
        }

        text.AppendLine();
    }

    private static void UnaryTable(StringBuilder text, Dictionary<(string, string), LoadResult> results)
    {
        var rows = Rows(results, "unary");
        if (rows.Length == 0)
        {
            return;
        }

        var first = rows[0].Result;
        var nginx = results.GetValueOrDefault(("unary", "nginx"))?.Proxy?.CpuMicrosecondsPerEvent;
        text.AppendLine(C, $"#### unary: {first.Requests:N0} non-streaming chat completions, {first.Streams} at a time, {first.UnaryResponseBytes} bytes per answer");
        text.AppendLine();
        text.AppendLine("| target | requests/s | latency p50 / p99 / max ms | added p50 / p99 µs | proxy CPU µs/request | × nginx | machine load (1 min) | errors |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (target, r) in rows)
        {
            var us = r.Proxy?.CpuMicrosecondsPerEvent;
            var added = r.AddedUnaryLatencyMs is { } a ? string.Create(C, $"{a.P50 * 1000:F0} / {a.P99 * 1000:F0}") : "-";
            text.AppendLine(C, $"| {target} | {r.EventsPerSecond:N0} | {Triple(r.UnaryLatencyMs)} | {added} | {F2(us)} | {Ratio(us, nginx)} | "
                + $"{string.Join(" → ", r.LoadAverage.Select(l => l.ToString("F1", C)))} | {r.Errors} |");
        }

        text.AppendLine();
    }

    /// <summary>Issue 12 ("At a real worker's pace"): each target as a met/missed line.</summary>
    private static void Issue12Targets(StringBuilder text, Dictionary<(string, string), LoadResult> results)
    {
        var sidecar = results.GetValueOrDefault(("paced", "sidecar"));
        var nginx = results.GetValueOrDefault(("paced", "nginx"));
        var yarp = results.GetValueOrDefault(("paced", "yarp"));
        var portkey = results.GetValueOrDefault(("paced", "portkey"));
        var unary = results.GetValueOrDefault(("unary", "sidecar"));
        var portkeyUnary = results.GetValueOrDefault(("unary", "portkey"));
        if (sidecar is null && unary is null)
        {
            return;
        }

        text.AppendLine();
        text.AppendLine("#### Targets (issue 12, \"At a real worker's pace\")");
        text.AppendLine();
        text.AppendLine("| target | measured | verdict |");
        text.AppendLine("|---|---|---|");
        var us = sidecar?.Proxy?.CpuMicrosecondsPerEvent;
        Verdict(text, "every stream open through the window (paced, sidecar)",
            sidecar?.StreamsClosedInWindow is { } closed ? (string.Create(C, $"{closed} of {sidecar.Streams} closed inside it"), closed == 0 && sidecar.Errors == 0) : null);
        Verdict(text, "sidecar CPU per event ≤ 1.5 × nginx (paced)",
            us is { } s1 && nginx?.Proxy?.CpuMicrosecondsPerEvent is { } n && n > 0 ? (string.Create(C, $"{s1:F2} vs {n:F2} µs/event = {s1 / n:F2}×"), s1 / n <= 1.5) : null);
        Verdict(text, "metering adds ≤ 10% CPU per event over plain YARP (paced)",
            us is { } s2 && yarp?.Proxy?.CpuMicrosecondsPerEvent is { } y && y > 0 ? (string.Create(C, $"{s2:F2} vs {y:F2} µs/event = {s2 / y:F2}×"), s2 / y <= 1.10) : null);
        Verdict(text, "idle RSS ≤ 40 MiB after warm-up (paced, sidecar)",
            sidecar?.Proxy is { } p1 ? ($"{Mib(p1.RssIdleBytes)} MiB", p1.RssIdleBytes <= 40L * 1024 * 1024) : null);
        Verdict(text, "≤ 16 KiB per open stream at 512+ streams (paced, sidecar)",
            sidecar?.Proxy?.RssPerOpenStreamBytes is { } perStream
                ? (string.Create(C, $"{perStream / 1024.0:F1} KiB at {sidecar.Streams} streams"), perStream <= 16 * 1024 && sidecar.Streams >= 512)
                : null);
        // A latency difference against direct means nothing when the machine had more runnable work than cores.
        var pacedBusy = Busy(results, "paced");
        var unaryBusy = Busy(results, "unary");
        Verdict(text, "added TTFT p50 ≤ 0.5 ms on fresh connections, streams open (paced, sidecar)",
            sidecar?.AddedProbeTtftMs is { } t1 ? (string.Create(C, $"{t1.P50:F3} ms (n={t1.Count})"), t1.P50 <= 0.5) : null, pacedBusy);
        Verdict(text, "added TTFT p99 ≤ 2 ms on fresh connections, streams open (paced, sidecar)",
            sidecar?.AddedProbeTtftMs is { } t2 ? (string.Create(C, $"{t2.P99:F3} ms (worst probe {sidecar.ProbeTtftMs?.Max:F1} ms)"), t2.P99 <= 2) : null, pacedBusy);
        Verdict(text, "added p99 ≤ 150 µs, one small unary request at a time (unary, sidecar)",
            unary?.AddedUnaryLatencyMs is { } u ? (string.Create(C, $"{u.P99 * 1000:F0} µs (p50 {u.P50 * 1000:F0} µs)"), u.P99 <= 0.150) : null, unaryBusy);
        Verdict(text, "sidecar beats Portkey on every paced row (CPU/event, idle RSS, KiB/stream, TTFT p99)",
            sidecar?.Proxy is { } sp && portkey?.Proxy is { } pp && portkey.Errors == 0
                ? (string.Create(C, $"{F2(sp.CpuMicrosecondsPerEvent)} vs {F2(pp.CpuMicrosecondsPerEvent)} µs/event, {Mib(sp.RssIdleBytes)} vs {Mib(pp.RssIdleBytes)} MiB, "
                    + $"{Kib(sp.RssPerOpenStreamBytes)} vs {Kib(pp.RssPerOpenStreamBytes)} KiB, {sidecar.ProbeTtftMs?.P99:F1} vs {portkey.ProbeTtftMs?.P99:F1} ms"),
                    sp.CpuMicrosecondsPerEvent < pp.CpuMicrosecondsPerEvent && sp.RssIdleBytes < pp.RssIdleBytes
                    && sp.RssPerOpenStreamBytes < pp.RssPerOpenStreamBytes && sidecar.ProbeTtftMs?.P99 < portkey.ProbeTtftMs?.P99)
                : null);
        Verdict(text, "sidecar beats Portkey on the unary row (added p99, CPU/request)",
            unary is { Proxy: { } up, UnaryLatencyMs: { } ul } && portkeyUnary is { Proxy: { } pu, UnaryLatencyMs: { } pl } && portkeyUnary.Errors == 0
                ? (string.Create(C, $"p99 {ul.P99:F3} vs {pl.P99:F3} ms, {F2(up.CpuMicrosecondsPerEvent)} vs {F2(pu.CpuMicrosecondsPerEvent)} µs/request"),
                    ul.P99 < pl.P99 && up.CpuMicrosecondsPerEvent < pu.CpuMicrosecondsPerEvent)
                : null);
    }

    private static string F2(double? value) => value is { } v ? v.ToString("F2", C) : "-";

    private static string Ratio(double? value, double? of) => value is { } v && of is { } o && o > 0 ? (v / o).ToString("F2", C) + "×" : "-";

    private static string Kib(long? bytes) => bytes is { } b ? (b / 1024.0).ToString("F1", C) : "-";

    private static string Triple(Percentiles? p) => p is null ? "-" : string.Create(C, $"{p.P50:F3} / {p.P99:F3} / {p.Max:F1}");

    private static void Verdict(StringBuilder text, string target, (string Measured, bool Met)? outcome, string? notJudged = null) =>
        text.AppendLine(C, $"| {target} | {outcome?.Measured ?? "not measured"} | {(outcome is null ? "-" : notJudged is not null ? $"not judged: {notJudged}" : outcome.Value.Met ? "**met**" : "**missed**")} |");

    /// <summary>Why a scenario's latencies cannot be judged (the machine's load average above its cores during a run), or null.</summary>
    private static string? Busy(Dictionary<(string, string), LoadResult> results, string scenario)
    {
        var peak = Rows(results, scenario).SelectMany(row => row.Result.LoadAverage).DefaultIfEmpty(0).Max();
        return peak > Environment.ProcessorCount ? string.Create(C, $"machine load {peak:F1} on {Environment.ProcessorCount} cores") : null;
    }

    private static string Pair(Percentiles? p) => p is null ? "-" : string.Create(C, $"{p.P50:F3} / {p.P99:F3}");

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", C);
}

using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Benchmarks;

/// <summary>
/// The request side: <see cref="RequestBody.TryParse"/> then <see cref="UsageRequestRewriter.Rewrite"/> on a
/// streaming chat request without <c>stream_options</c> (the usual case: the whole field is spliced in), by body size.
/// The <c>Mean/KB</c> and <c>Alloc/KB</c> columns divide by the body size.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerKilobyteConfig))]
public class RequestRewriteBenchmarks
{
    private byte[] _body = [];

    [Params(1, 16, 256)]
    public int BodyKb { get; set; }

    [GlobalSetup]
    public void Setup() => _body = ChatRequest(BodyKb * 1024);

    [Benchmark]
    public int ParseAndRewrite()
    {
        if (!RequestBody.TryParse(_body, out var body))
        {
            throw new InvalidOperationException("The benchmark body must parse.");
        }

        return UsageRequestRewriter.Rewrite(_body, body).Length;
    }

    /// <summary>A chat request of exactly <paramref name="size"/> bytes: system prompt, a padded user turn, sampling options.</summary>
    internal static byte[] ChatRequest(int size)
    {
        const string Head = "{\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\\nBe concise.\"},{\"role\":\"user\",\"content\":\"";
        const string Tail = "\"},{\"role\":\"assistant\",\"content\":\"Sure.\"}],\"stream\":true,\"max_tokens\":512,\"temperature\":0.7,\"top_p\":0.95}";
        const string Words = "The quick brown fox jumps over the lazy dog while \\\"simulated\\\" workers stream tokens to eager clients.\\n ";
        var padding = new StringBuilder();
        while (padding.Length < size - Head.Length - Tail.Length)
        {
            padding.Append(Words);
        }

        padding.Length = size - Head.Length - Tail.Length;
        // Do not cut an escape sequence in half.
        while (padding[^1] == '\\')
        {
            padding[^1] = ' ';
        }

        var bytes = Encoding.UTF8.GetBytes(Head + padding + Tail);
        return bytes.Length == size ? bytes : throw new InvalidOperationException($"Body is {bytes.Length} bytes, not {size}.");
    }

    private sealed class PerKilobyteConfig : ManualConfig
    {
        public PerKilobyteConfig()
        {
            AddColumn(new PerKilobyteColumn("Mean/KB", "Mean time per KB of body", static (summary, benchmark) =>
                summary[benchmark]?.ResultStatistics is { } statistics ? statistics.Mean : null, static ns => $"{ns:N1} ns"));
            AddColumn(new PerKilobyteColumn("Alloc/KB", "Bytes allocated per KB of body", static (summary, benchmark) =>
                summary[benchmark]?.GcStats.GetBytesAllocatedPerOperation(benchmark), static bytes => $"{bytes:N0} B"));
        }
    }

    private sealed class PerKilobyteColumn(string name, string legend, Func<Summary, BenchmarkCase, double?> metric, Func<double, string> format) : IColumn
    {
        public string Id => "PerKilobyte." + name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => legend;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var kb = benchmarkCase.Parameters[nameof(BodyKb)] is int size ? size : 0;
            return kb > 0 && metric(summary, benchmarkCase) is { } value ? format(value / kb) : "-";
        }

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}

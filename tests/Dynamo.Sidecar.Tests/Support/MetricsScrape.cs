using System.Text;
using Prometheus;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>
/// A registry exported as Prometheus text (what <c>/metrics</c> serves), parsed by the shared
/// <see cref="MetricsText"/>, so tests assert on exported values, not on the objects behind them.
/// Names are given without the <c>dynamo_frontend_</c> prefix.
/// </summary>
internal sealed class MetricsScrape
{
    public const string Prefix = "dynamo_frontend_";

    private readonly MetricsText _text;

    private MetricsScrape(MetricsText text) => _text = text;

    public string Text => _text.Raw;

    public IEnumerable<string> Series => _text.Series;

    public static async Task<MetricsScrape> OfAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return new MetricsScrape(MetricsText.Parse(Encoding.UTF8.GetString(stream.ToArray())));
    }

    public static MetricsScrape Of(CollectorRegistry registry) => OfAsync(registry).GetAwaiter().GetResult();

    /// <summary>True when the series is exported at all.</summary>
    public bool Has(string name, params (string Name, string Value)[] labels) =>
        _text.TryGetValue(Prefix + name, out _, labels);

    /// <summary>The value of <c>dynamo_frontend_{name}{labels}</c>; fails when the series is not exported.</summary>
    public double Value(string name, params (string Name, string Value)[] labels) =>
        _text.TryGetValue(Prefix + name, out var value, labels)
            ? value
            : throw new KeyNotFoundException($"No sample {Prefix + name} {string.Join(",", labels)} in:\n{Text}");

    /// <summary>The value, or 0 when the series is not exported (a labelled child never touched).</summary>
    public double ValueOrZero(string name, params (string Name, string Value)[] labels) => _text.Value(Prefix + name, labels);

    /// <summary>Histogram <c>_count</c> and <c>_sum</c> of one model.</summary>
    public (double Count, double Sum) Histogram(string name, string model = "m") =>
        (ValueOrZero(name + "_count", ("model", model)), ValueOrZero(name + "_sum", ("model", model)));

    /// <summary>Cumulative count of the histogram bucket <paramref name="le"/> (as exported, e.g. "0.1", "+Inf").</summary>
    public double Bucket(string name, string le, string model = "m") =>
        Value(name + "_bucket", ("model", model), ("le", le));
}

using System.Globalization;
using System.Text;
using Prometheus;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>
/// A registry exported as Prometheus text (what <c>/metrics</c> serves), parsed into
/// <c>name{labels} → value</c> so tests assert on exported values, not on the objects behind them.
/// </summary>
internal sealed class MetricsScrape
{
    public const string Prefix = "dynamo_frontend_";

    private readonly Dictionary<string, double> _samples;

    private MetricsScrape(string text, Dictionary<string, double> samples)
    {
        Text = text;
        _samples = samples;
    }

    public string Text { get; }

    public IReadOnlyDictionary<string, double> Samples => _samples;

    public static async Task<MetricsScrape> OfAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Parse(Encoding.UTF8.GetString(stream.ToArray()));
    }

    public static MetricsScrape Of(CollectorRegistry registry) => OfAsync(registry).GetAwaiter().GetResult();

    public static MetricsScrape Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var (name, labels, rest) = SplitSample(line);
            var value = rest.Trim().Split(' ')[0];
            samples.Add(Key(name, labels), value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            });
        }

        return new MetricsScrape(text, samples);
    }

    /// <summary>True when the series is exported at all.</summary>
    public bool Has(string name, params (string Name, string Value)[] labels) =>
        _samples.ContainsKey(Key(Prefix + name, labels));

    /// <summary>The value of <c>dynamo_frontend_{name}{labels}</c>; fails when the series is not exported.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var key = Key(Prefix + name, labels);
        return _samples.TryGetValue(key, out var value)
            ? value
            : throw new KeyNotFoundException($"No sample {key} in:\n{Text}");
    }

    /// <summary>The value, or 0 when the series is not exported (a labelled child never touched).</summary>
    public double ValueOrZero(string name, params (string Name, string Value)[] labels) =>
        _samples.TryGetValue(Key(Prefix + name, labels), out var value) ? value : 0;

    /// <summary>Histogram <c>_count</c> and <c>_sum</c> of one model.</summary>
    public (double Count, double Sum) Histogram(string name, string model = "m") =>
        (ValueOrZero(name + "_count", ("model", model)), ValueOrZero(name + "_sum", ("model", model)));

    /// <summary>Cumulative count of the histogram bucket <paramref name="le"/> (as exported, e.g. "0.1", "+Inf").</summary>
    public double Bucket(string name, string le, string model = "m") =>
        Value(name + "_bucket", ("model", model), ("le", le));

    private static string Key(string name, IEnumerable<(string Name, string Value)> labels) =>
        name + "{" + string.Join(",", labels.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}=\"{l.Value}\"")) + "}";

    private static (string Name, List<(string Name, string Value)> Labels, string Remainder) SplitSample(string line)
    {
        var labels = new List<(string, string)>();
        var brace = line.IndexOf('{', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (brace < 0 || (space >= 0 && space < brace))
        {
            return (line[..space], labels, line[space..]);
        }

        var name = line[..brace];
        var i = brace + 1;
        while (line[i] != '}')
        {
            var eq = line.IndexOf('=', i);
            var labelName = line[i..eq].TrimStart(',');
            var value = new StringBuilder();
            i = eq + 2; // past ="
            while (line[i] != '"')
            {
                if (line[i] == '\\')
                {
                    i++;
                    value.Append(line[i] == 'n' ? '\n' : line[i]);
                }
                else
                {
                    value.Append(line[i]);
                }

                i++;
            }

            labels.Add((labelName, value.ToString()));
            i++;
            if (line[i] == ',')
            {
                i++;
            }
        }

        return (name, labels, line[(i + 1)..]);
    }
}

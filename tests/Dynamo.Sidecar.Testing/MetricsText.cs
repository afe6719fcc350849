namespace Dynamo.Sidecar.Testing;

/// <summary>The Prometheus text exposition of <c>/metrics</c>, parsed into samples tests can read.</summary>
public sealed class MetricsText
{
    private readonly Dictionary<string, double> _samples;

    private MetricsText(string raw, Dictionary<string, double> samples)
    {
        Raw = raw;
        _samples = samples;
    }

    public string Raw { get; }

    public static MetricsText Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (PrometheusSample.TryParse(line, out var name, out var labels, out var value))
            {
                samples[Key(name, labels)] = value;
            }
        }

        return new MetricsText(text, samples);
    }

    /// <summary>
    /// Every sample line, in the order exported, with its labels: parsed again on each enumeration rather than kept,
    /// since tests that measure the heap hold large scrapes.
    /// </summary>
    public IEnumerable<MetricSample> Samples
    {
        get
        {
            foreach (var line in Raw.Split('\n'))
            {
                if (PrometheusSample.TryParse(line, out var name, out var labels, out var value))
                {
                    yield return new MetricSample(name, labels, value);
                }
            }
        }
    }

    /// <summary>Every series, as <c>name{label="value",...}</c> with labels sorted, in the order exported.</summary>
    public IEnumerable<string> Series => _samples.Keys;

    /// <summary>The sample's value, or 0 when the series does not exist (yet).</summary>
    public double Value(string name, params (string Name, string Value)[] labels) =>
        TryGetValue(name, out var value, labels) ? value : 0;

    public bool TryGetValue(string name, out double value, params (string Name, string Value)[] labels) =>
        _samples.TryGetValue(Key(name, labels.ToDictionary(l => l.Name, l => l.Value)), out value);

    /// <summary>Sum over every series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Name, string Value)[] labels)
    {
        var total = 0.0;
        foreach (var (key, value) in _samples)
        {
            var brace = key.IndexOf('{', StringComparison.Ordinal);
            if (key[..brace] == name && labels.All(l => key.Contains($"{l.Name}=\"{Escape(l.Value)}\"", StringComparison.Ordinal)))
            {
                total += value;
            }
        }

        return total;
    }

    public bool Has(string name) => _samples.Keys.Any(k => k.StartsWith(name + "{", StringComparison.Ordinal));

    private static string Key(string name, IReadOnlyDictionary<string, string> labels) =>
        name + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{Escape(l.Value)}\"")) + "}";

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}

/// <summary>One sample line of <c>/metrics</c>: name (with its <c>_bucket</c>/<c>_sum</c>/<c>_count</c> suffix), labels, value.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

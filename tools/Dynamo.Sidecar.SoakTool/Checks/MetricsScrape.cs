using Dynamo.Sidecar.Testing;

namespace Dynamo.Sidecar.SoakTool.Checks;

/// <summary>One Prometheus text exposition (<c>/metrics</c>), as samples: name, labels, value.</summary>
internal sealed class MetricsScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public static async Task<MetricsScrape> ReadAsync(HttpClient client, Uri url, CancellationToken cancellationToken) =>
        Parse(await client.GetStringAsync(url, cancellationToken).ConfigureAwait(false));

    public static MetricsScrape Parse(string text)
    {
        var scrape = new MetricsScrape();
        foreach (var line in text.Split('\n'))
        {
            if (PrometheusSample.TryParse(line, out var name, out var labels, out var value))
            {
                scrape._samples.Add((name, labels, value));
            }
        }

        return scrape;
    }

    /// <summary>Sum over the series of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Name, string Value)[] labels) =>
        Series(name, labels).Sum(s => s.Value);

    public IEnumerable<(Dictionary<string, string> Labels, double Value)> Series(string name, params (string Name, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value))
            .Select(s => (s.Labels, s.Value));
}

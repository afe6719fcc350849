using System.Globalization;

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
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            string name;
            string rest;
            if (brace >= 0 && brace < space)
            {
                name = line[..brace];
                var i = brace + 1;
                while (line[i] != '}')
                {
                    var equals = line.IndexOf('=', i);
                    var key = line[i..equals];
                    i = equals + 2; // past ="
                    var value = new System.Text.StringBuilder();
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

                    labels[key] = value.ToString();
                    i++; // past the closing quote
                    if (line[i] == ',')
                    {
                        i++;
                    }
                }

                rest = line[(i + 1)..];
            }
            else
            {
                name = line[..space];
                rest = line[space..];
            }

            var number = rest.Trim().Split(' ')[0];
            scrape._samples.Add((name, labels, number switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(number, CultureInfo.InvariantCulture),
            }));
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

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>How much each series of the sidecar's <c>/metrics</c> moved between two scrapes.</summary>
internal sealed class MetricsDelta(MetricsText before, MetricsText after)
{
    public const string Prefix = "dynamo_frontend_";

    public MetricsText After { get; } = after;

    /// <summary>The change of <c>dynamo_frontend_{name}</c> summed over the series whose labels include <paramref name="labels"/>.</summary>
    public double Of(string name, params (string Name, string Value)[] labels) =>
        After.Sum(Prefix + name, labels) - before.Sum(Prefix + name, labels);

    public string Describe() => string.Join('\n', After.Raw.Split('\n').Where(l => l.StartsWith(Prefix, StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal)));
}

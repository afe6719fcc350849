using Dynamo.Sidecar.IntegrationTests.Support;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>What <c>/metrics</c> moved by between two scrapes.</summary>
internal sealed class MetricsDelta(MetricsText before, MetricsText after)
{
    public MetricsText After => after;

    public double Value(string name, params (string Name, string Value)[] labels) => after.Value(name, labels) - before.Value(name, labels);

    public double Sum(string name, params (string Name, string Value)[] labels) => after.Sum(name, labels) - before.Sum(name, labels);
}

/// <summary>Shared expectations of the fault tests: a request's outcome counted once, and nothing leaked.</summary>
internal static class FaultMetrics
{
    public const string Prefix = "dynamo_frontend_";
    public const string RequestsStarted = Prefix + "requests_started_total";
    public const string RequestsTotal = Prefix + "requests_total";
    public const string Inflight = Prefix + "inflight_requests";
    public const string Active = Prefix + "active_requests";
    public const string Queued = Prefix + "queued_requests";
    public const string DisconnectedClients = Prefix + "disconnected_clients";
    public const string Cancellations = Prefix + "model_cancellation_total";
    public const string OutputTokens = Prefix + "output_tokens_total";
    public const string OutputSequenceCount = Prefix + "output_sequence_tokens_count";
    public const string OutputSequenceSum = Prefix + "output_sequence_tokens_sum";
    public const string InputSequenceCount = Prefix + "input_sequence_tokens_count";
    public const string InputSequenceSum = Prefix + "input_sequence_tokens_sum";
    public const string TimeToFirstTokenCount = Prefix + "time_to_first_token_seconds_count";
    public const string DurationCount = Prefix + "request_duration_seconds_count";

    /// <summary>Scrapes until <paramref name="ended"/> more requests have ended and no request of <paramref name="model"/> is in flight.</summary>
    public static async Task<MetricsDelta> WaitForEndedAsync(SidecarHost sidecar, MetricsText before, int ended, string model)
    {
        var after = await sidecar.ScrapeUntilAsync(m =>
            m.Sum(RequestsTotal) - before.Sum(RequestsTotal) >= ended
            && m.Value(Inflight, ("model", model)) == 0
            && m.Value(Active, ("model", model)) == 0
            && m.Value(Queued, ("model", model)) == 0);
        return new MetricsDelta(before, after);
    }

    /// <summary>
    /// Exactly <paramref name="count"/> requests of <paramref name="model"/> started and ended, all with
    /// <paramref name="errorType"/> (empty: success), and the model's gauges are back at 0.
    /// </summary>
    public static void AssertOutcome(MetricsDelta delta, string model, string endpoint, string requestType, string errorType, int count = 1)
    {
        var status = errorType.Length == 0 ? "success" : "error";
        var series = $"{model}/{endpoint}/{requestType}";
        Assert.True(count == delta.Value(RequestsStarted, ("model", model), ("endpoint", endpoint), ("request_type", requestType)),
            $"{series}: requests_started_total moved by {delta.Value(RequestsStarted, ("model", model), ("endpoint", endpoint), ("request_type", requestType))}, expected {count}\n{delta.After.Raw}");
        var ended = delta.Value(RequestsTotal, ("model", model), ("endpoint", endpoint), ("request_type", requestType), ("status", status), ("error_type", errorType));
        Assert.True(count == ended, $"{series}: requests_total{{status=\"{status}\",error_type=\"{errorType}\"}} moved by {ended}, expected {count}\n{Outcomes(delta, model)}");
        Assert.True(count == delta.Sum(RequestsTotal, ("model", model)), $"{series}: requests ended with other outcomes too\n{Outcomes(delta, model)}");
        AssertGaugesZero(delta.After, model);
    }

    public static void AssertGaugesZero(MetricsText metrics, string model)
    {
        Assert.Equal(0, metrics.Value(Inflight, ("model", model)));
        Assert.Equal(0, metrics.Value(Active, ("model", model)));
        Assert.Equal(0, metrics.Value(Queued, ("model", model)));
    }

    /// <summary>No client disconnect was counted.</summary>
    public static void AssertNoDisconnect(MetricsDelta delta)
    {
        Assert.Equal(0, delta.Value(DisconnectedClients));
        Assert.Equal(0, delta.Sum(Cancellations));
    }

    /// <summary>The <c>requests_total</c> lines of <paramref name="model"/>, for failure messages.</summary>
    public static string Outcomes(MetricsDelta delta, string model) =>
        string.Join('\n', delta.After.Raw.Split('\n').Where(l => l.StartsWith(RequestsTotal + "{", StringComparison.Ordinal) && l.Contains($"model=\"{model}\"", StringComparison.Ordinal)));
}

using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Tests.Support;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Hosting;

public sealed class ReadinessAndConstantLabelsConfigurationTests
{
    [Theory]
    [InlineData("00:00:00", true)]
    [InlineData("00:00:01", true)]
    [InlineData("00:00:10", true)]
    [InlineData("01:00:00", true)]
    [InlineData("00:00:00.500", false)]
    [InlineData("01:00:01", false)]
    // A bare number binds as days.
    [InlineData("10", false)]
    [InlineData("-00:00:10", false)]
    public void ReadinessInterval_is_off_or_between_a_second_and_an_hour(string value, bool valid)
    {
        var options = new SidecarOptions { ReadinessInterval = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        var result = new SidecarOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Sidecar:ReadinessInterval", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("dynamo_namespace")]
    [InlineData("_private")]
    [InlineData("Cluster2")]
    public void Valid_constant_label_names_pass(string name)
    {
        Assert.True(Validate(name, "x").Succeeded);
    }

    [Theory]
    [InlineData("2fast", "not a valid Prometheus label name")]
    [InlineData("dynamo-namespace", "not a valid Prometheus label name")]
    [InlineData("name with space", "not a valid Prometheus label name")]
    [InlineData("ns\n", "not a valid Prometheus label name")]
    [InlineData("__name__", "not starting with '__'")]
    [InlineData("__anything", "not starting with '__'")]
    [InlineData("model", "a label of the sidecar's own families")]
    [InlineData("endpoint", "a label of the sidecar's own families")]
    [InlineData("request_type", "a label of the sidecar's own families")]
    [InlineData("status", "a label of the sidecar's own families")]
    [InlineData("error_type", "a label of the sidecar's own families")]
    [InlineData("le", "a label of the sidecar's own families")]
    public void Invalid_constant_label_names_fail_naming_the_key(string name, string why)
    {
        var result = Validate(name, "x");

        Assert.False(result.Succeeded);
        Assert.Contains($"Sidecar:Metrics:ConstantLabels:{name}", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(why, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_constant_label_without_a_value_fails_naming_the_key()
    {
        var result = Validate("dynamo_namespace", "");

        Assert.False(result.Succeeded);
        Assert.Contains("Sidecar:Metrics:ConstantLabels:dynamo_namespace has no value", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Constant_labels_are_on_every_family_of_the_sidecar_registry()
    {
        var metrics = new SidecarMetrics(Options.Create(new SidecarOptions
        {
            Metrics = new MetricsOptions { ConstantLabels = new() { ["dynamo_namespace"] = "team-a", ["cluster"] = "eu-1" } },
        }));
        metrics.RequestsStarted.WithLabels("m", "chat_completions", "stream").Inc();
        metrics.Duration.WithLabels("m").Observe(1);
        metrics.DisconnectedClients.Inc();
        metrics.ModelReady.WithLabels("m").Set(1);

        var scrape = MetricsScrape.Of(metrics.Registry);

        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("dynamo_namespace", "team-a"), ("cluster", "eu-1")));
        Assert.Equal(1, scrape.Value("request_duration_seconds_bucket", ("model", "m"), ("le", "2"), ("dynamo_namespace", "team-a"), ("cluster", "eu-1")));
        Assert.Equal(1, scrape.Value("disconnected_clients", ("dynamo_namespace", "team-a"), ("cluster", "eu-1")));
        Assert.Equal(1, scrape.Value("model_ready", ("model", "m"), ("dynamo_namespace", "team-a"), ("cluster", "eu-1")));
        var samples = MetricsText.Parse(scrape.Text).Samples;
        Assert.NotEmpty(samples);
        Assert.All(samples, s => Assert.Equal("team-a", s.Labels["dynamo_namespace"]));
    }

    private static ValidateOptionsResult Validate(string name, string value) =>
        new SidecarOptionsValidator().Validate(null, new SidecarOptions
        {
            Metrics = new MetricsOptions { ConstantLabels = new() { [name] = value } },
        });
}

using Dynamo.Sidecar.Attribution;
using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Hosting;

/// <summary>
/// The options as <see cref="SidecarHostingExtensions.AddSidecar"/> binds and validates them, with the configuration
/// binding source generator that the Native AOT binary also uses: every key reaches its property (an AOT build once
/// ignored every <c>Sidecar:*</c> key, because generated binding cannot set init-only properties), and every data
/// annotation is checked without reflection.
/// </summary>
public sealed class SidecarOptionsBindingTests
{
    [Fact]
    public void Every_Sidecar_key_reaches_its_property()
    {
        using var app = Build(
            "--Sidecar:AdminPort=9500", "--Sidecar:AdminAddress=127.0.0.1", "--Sidecar:ReadinessPath=/ready",
            "--Sidecar:ReadinessInterval=00:00:30", "--Sidecar:IdleTrimAfter=00:00:05", "--Sidecar:MeteringEnabled=false", "--Sidecar:MaxInspectedRequestBytes=4096",
            "--Sidecar:MaxInspectedEventBytes=8192", "--Sidecar:DrainTimeout=00:00:20", "--Sidecar:Metrics:Prefix=custom",
            "--Sidecar:Metrics:Models:0=a", "--Sidecar:Metrics:MaxModels=7", "--Sidecar:Metrics:ConstantLabels:dynamo_namespace=ns",
            "--Sidecar:Metering:AnthropicInputIncludesCached=true", "--Sidecar:Attribution:Header=x-tenant-id",
            "--Sidecar:Attribution:FromBody=true", "--Sidecar:Attribution:MaxTenants=9", "--Sidecar:AccessLog=true", "--Sidecar:Exemplars=true");

        var sidecar = app.Services.GetRequiredService<IOptions<SidecarOptions>>().Value;
        Assert.Equal(
            new SidecarOptions
            {
                AdminPort = 9500,
                AdminAddress = "127.0.0.1",
                ReadinessPath = "/ready",
                ReadinessInterval = TimeSpan.FromSeconds(30),
                IdleTrimAfter = TimeSpan.FromSeconds(5),
                MeteringEnabled = false,
                MaxInspectedRequestBytes = 4096,
                MaxInspectedEventBytes = 8192,
                DrainTimeout = TimeSpan.FromSeconds(20),
                Metrics = sidecar.Metrics,
                Metering = new MeteringOptions { AnthropicInputIncludesCached = true },
            },
            sidecar);
        Assert.Equal("custom", sidecar.Metrics.Prefix);
        Assert.Equal(["a"], sidecar.Metrics.Models);
        Assert.Equal(7, sidecar.Metrics.MaxModels);
        Assert.Equal(new Dictionary<string, string> { ["dynamo_namespace"] = "ns" }, sidecar.Metrics.ConstantLabels);

        var observability = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        Assert.Equal(
            new ObservabilityOptions
            {
                Attribution = new AttributionOptions { Header = "x-tenant-id", FromBody = true, MaxTenants = 9 },
                AccessLog = true,
                Exemplars = true,
            },
            observability);
    }

    [Theory]
    [InlineData("Sidecar:AdminPort=70000", "AdminPort")]
    [InlineData("Sidecar:ReadinessPath=health", "Sidecar:ReadinessPath must start with '/'")]
    [InlineData("Sidecar:MaxInspectedRequestBytes=10", "MaxInspectedRequestBytes")]
    [InlineData("Sidecar:MaxInspectedEventBytes=10", "MaxInspectedEventBytes")]
    [InlineData("Sidecar:Metrics:Prefix=1st", "Sidecar:Metrics:Prefix must be a valid Prometheus metric name")]
    [InlineData("Sidecar:Metrics:MaxModels=0", "MaxModels")]
    [InlineData("Sidecar:Attribution:MaxTenants=0", "MaxTenants")]
    public void A_value_outside_its_annotation_stops_the_start_naming_the_key(string setting, string expected)
    {
        // Building reads the options already (the host's shutdown timeout is the drain timeout).
        var failure = Assert.ThrowsAny<OptionsValidationException>(() =>
        {
            using var app = Build("--" + setting);
            _ = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>().Value;
        });
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    private static WebApplication Build(params string[] args) => WebApplication.CreateBuilder(args).AddSidecar().Build();
}

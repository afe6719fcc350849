using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Dynamo.Sidecar.Tests.Hosting;

public sealed class DrainAndLimitsConfigurationTests
{
    [Theory]
    [InlineData("00:00:00", true)]
    [InlineData("00:02:30", true)]
    [InlineData("01:00:00", true)]
    // A bare number binds as days.
    [InlineData("150", false)]
    [InlineData("-00:00:01", false)]
    public void DrainTimeout_is_validated(string value, bool valid)
    {
        var options = new SidecarOptions { DrainTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        var result = new SidecarOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Sidecar:DrainTimeout", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("00:00:00", true)]
    [InlineData("00:00:02", true)]
    [InlineData("01:00:00", true)]
    [InlineData("00:00:00.1000000", false)]
    [InlineData("2", false)]
    [InlineData("-00:00:01", false)]
    public void IdleTrimAfter_is_validated(string value, bool valid)
    {
        var options = new SidecarOptions { IdleTrimAfter = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        var result = new SidecarOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Sidecar:IdleTrimAfter", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Kestrel_limits_from_configuration_reach_the_options_including_the_data_rates()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Limits:RequestHeadersTimeout"] = "00:00:02",
            ["Kestrel:Limits:MaxRequestHeaderCount"] = "50",
            ["Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond"] = "100",
            ["Kestrel:Limits:MinResponseDataRate:GracePeriod"] = "00:00:03",
        }).Build();
        var options = new KestrelServerOptions();

        new KestrelLimitsSetup(configuration).Configure(options);

        Assert.Equal(TimeSpan.FromSeconds(2), options.Limits.RequestHeadersTimeout);
        Assert.Equal(50, options.Limits.MaxRequestHeaderCount);
        Assert.Equal(100, options.Limits.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Limits.MinRequestBodyDataRate.GracePeriod);
        Assert.Equal(240, options.Limits.MinResponseDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Limits.MinResponseDataRate.GracePeriod);
    }
}

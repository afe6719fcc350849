using Dynamo.Sidecar.Attribution;

namespace Dynamo.Sidecar.Tests.Attribution;

public class ObservabilityOptionsValidatorTests
{
    private static string[] Failures(AttributionOptions attribution) =>
        new ObservabilityOptionsValidator().Validate(null, new ObservabilityOptions { Attribution = attribution }).Failures?.ToArray() ?? [];

    [Theory]
    [InlineData("Authorization")]
    [InlineData(" authorization ")]
    [InlineData("Proxy-Authorization")]
    [InlineData("Cookie")]
    [InlineData("X-Api-Key")]
    [InlineData("api-key")]
    public void CredentialHeaders_AreRefused(string header) =>
        Assert.Contains(Failures(new AttributionOptions { Header = header }), f => f.Contains("carries credentials"));

    [Theory]
    [InlineData("x tenant")]
    [InlineData("x-tenant:")]
    public void InvalidHeaderNames_AreRefused(string header) =>
        Assert.Contains(Failures(new AttributionOptions { Header = header }), f => f.Contains("not a valid HTTP header name"));

    [Theory]
    [InlineData(0)]
    [InlineData(100_001)]
    public void MaxTenants_OutOfRange_IsRefused(int maxTenants) =>
        Assert.Contains(Failures(new AttributionOptions { Header = "x-tenant-id", MaxTenants = maxTenants }), f => f.Contains("MaxTenants"));

    [Fact]
    public void DefaultsAndAPlainHeader_Pass()
    {
        Assert.Empty(Failures(new AttributionOptions()));
        Assert.Empty(Failures(new AttributionOptions { Header = "x-tenant-id", FromBody = true, MaxTenants = 5 }));
    }
}

using Dynamo.Sidecar.Attribution;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Attribution;

public class TenantLabelsTests
{
    private static TenantLabels Labels(int maxTenants = 100) =>
        new(Options.Create(new ObservabilityOptions { Attribution = new AttributionOptions { MaxTenants = maxTenants } }));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void NoTenant_IsNone(string? tenant) => Assert.Equal("none", Labels().LabelFor(tenant));

    [Fact]
    public void TheFirstNTenantsAreLabels_TheRestOther_AdmittedOnesStay()
    {
        var labels = Labels(maxTenants: 2);

        Assert.Equal("a", labels.LabelFor("a"));
        Assert.Equal("b", labels.LabelFor("b"));
        Assert.Equal("other", labels.LabelFor("c"));
        Assert.Equal("a", labels.LabelFor("a"));
        Assert.Equal("other", labels.LabelFor("A"));
    }

    [Fact]
    public void AnOverlongTenant_IsOther_AndTakesNoPlace()
    {
        var labels = Labels(maxTenants: 1);

        Assert.Equal("other", labels.LabelFor(new string('x', 129)));
        Assert.Equal("t", labels.LabelFor("t"));
    }

    [Fact]
    public void ConcurrentNewTenants_NeverExceedTheCap()
    {
        var labels = Labels(maxTenants: 10);

        var admitted = Enumerable.Range(0, 1000).AsParallel().Select(i => labels.LabelFor($"t{i}")).Where(l => l != "other").Distinct().Count();

        Assert.Equal(10, admitted);
    }
}

using Dynamo.Sidecar.Attribution;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Attribution;

public class TenantResolverTests
{
    private static TenantResolver Resolver(string? header, bool fromBody)
    {
        var options = Options.Create(new ObservabilityOptions { Attribution = new AttributionOptions { Header = header, FromBody = fromBody } });
        return new TenantResolver(options, new TenantLabels(options));
    }

    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }

        return context.Request;
    }

    [Fact]
    public void TheHeaderWinsOverTheBody()
    {
        Assert.Equal("gw", Resolver("x-tenant-id", fromBody: true).Resolve(Request(("X-Tenant-Id", " gw ")), "alice"));
    }

    [Fact]
    public void AnEmptyOrMissingHeader_FallsBackToTheBody_WhenEnabled()
    {
        var resolver = Resolver("x-tenant-id", fromBody: true);

        Assert.Equal("alice", resolver.Resolve(Request(("x-tenant-id", "")), "alice"));
        Assert.Equal("alice", resolver.Resolve(Request(), "alice"));
    }

    [Fact]
    public void TheBodyIsIgnored_WhenFromBodyIsOff()
    {
        Assert.Equal("none", Resolver("x-tenant-id", fromBody: false).Resolve(Request(), "alice"));
    }

    [Fact]
    public void TheFirstOfRepeatedHeaders_NamesTheTenant()
    {
        Assert.Equal("a", Resolver("x-tenant-id", fromBody: false).Resolve(Request(("x-tenant-id", "a"), ("x-tenant-id", "b")), null));
    }
}

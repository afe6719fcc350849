using Dynamo.Sidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Hosting;

public sealed class InlineSocketSchedulingTests
{
    [Theory]
    [InlineData("1", true)]
    [InlineData(null, false)]
    [InlineData("0", false)]
    // The runtime inlines socket completions on exactly "1"; Kestrel must not inline alone on any other spelling.
    [InlineData("true", false)]
    [InlineData(" 1", false)]
    public void Kestrel_inlines_exactly_when_the_runtime_inlines_socket_completions(string? runtimeSwitch, bool inline)
    {
        var options = new SocketTransportOptions { UnsafePreferInlineScheduling = !inline };

        new InlineSocketScheduling(runtimeSwitch).Configure(options);

        Assert.Equal(inline, options.UnsafePreferInlineScheduling);
    }

    [Fact]
    public void The_sidecars_socket_transport_is_configured_by_the_rule()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddSidecar();
        using var services = builder.Services.BuildServiceProvider();

        Assert.Single(services.GetServices<IConfigureOptions<SocketTransportOptions>>().OfType<InlineSocketScheduling>());
        Assert.Equal(
            Environment.GetEnvironmentVariable(InlineSocketScheduling.RuntimeSwitch) == "1",
            services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
    }
}

using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>
/// Applies <c>Kestrel:Limits</c> from configuration to the proxy listener, as documented for Kestrel but not
/// done by the host (it binds only endpoints and certificates). The minimum data rates have no setters,
/// so they are built from their <c>BytesPerSecond</c> and <c>GracePeriod</c> keys.
/// </summary>
internal sealed class KestrelLimitsSetup(IConfiguration configuration) : IConfigureOptions<KestrelServerOptions>
{
    public const string SectionName = "Kestrel:Limits";

    public void Configure(KestrelServerOptions options)
    {
        var section = configuration.GetSection(SectionName);
        if (!section.Exists())
        {
            return;
        }

        var limits = options.Limits;
        section.Bind(limits);
        limits.MinRequestBodyDataRate = DataRate(section.GetSection(nameof(limits.MinRequestBodyDataRate)), limits.MinRequestBodyDataRate);
        limits.MinResponseDataRate = DataRate(section.GetSection(nameof(limits.MinResponseDataRate)), limits.MinResponseDataRate);
    }

    private static MinDataRate? DataRate(IConfigurationSection section, MinDataRate? current) =>
        section.Exists() && current is not null
            ? new MinDataRate(
                section.GetValue(nameof(MinDataRate.BytesPerSecond), current.BytesPerSecond),
                section.GetValue(nameof(MinDataRate.GracePeriod), current.GracePeriod))
            : current;
}

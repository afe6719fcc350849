using Dynamo.Sidecar.Metering;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Attribution;

/// <summary>
/// Turns the tenant a request names into a label value, bounded like <c>model</c>: the first
/// <see cref="AttributionOptions.MaxTenants"/> distinct names, the rest <c>other</c>, none given <c>none</c>.
/// </summary>
internal sealed class TenantLabels(IOptions<ObservabilityOptions> options)
{
    public const string None = "none";
    public const string Other = "other";

    // A tenant id is a short name or id; anything longer is not one, and is kept out of label memory.
    private const int MaxNameLength = 128;

    private readonly FirstComeLabelValues _firstTenants = new(options.Value.Attribution.MaxTenants);

    public string LabelFor(string? tenant)
    {
        if (string.IsNullOrWhiteSpace(tenant))
        {
            return None;
        }

        if (tenant.Length > MaxNameLength)
        {
            return Other;
        }

        return _firstTenants.TryAdmit(tenant) ? tenant : Other;
    }
}

using System.Collections.Concurrent;
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

    private readonly int _maxTenants = options.Value.Attribution.MaxTenants;
    private readonly ConcurrentDictionary<string, byte> _admitted = new(StringComparer.Ordinal);

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

        if (_admitted.ContainsKey(tenant))
        {
            return tenant;
        }

        // New tenants are rare; the lock keeps the cap exact without slowing the common lookup above.
        lock (_admitted)
        {
            if (_admitted.Count >= _maxTenants && !_admitted.ContainsKey(tenant))
            {
                return Other;
            }

            _admitted.TryAdd(tenant, 0);
            return tenant;
        }
    }
}

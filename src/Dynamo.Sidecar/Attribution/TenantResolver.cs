using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Attribution;

/// <summary>
/// Finds the tenant a metered request belongs to. The configured header wins over the body: a gateway in
/// front sets the header for the key it authenticated, while the body's <c>user</c> is whatever the client wrote.
/// </summary>
internal sealed class TenantResolver(IOptions<ObservabilityOptions> options, TenantLabels labels)
{
    private readonly string? _header = options.Value.Attribution.Header is { Length: > 0 } h ? h.Trim() : null;
    private readonly bool _fromBody = options.Value.Attribution.FromBody;

    public string Resolve(HttpRequest request, string? bodyUser)
    {
        if (_header is not null && request.Headers.TryGetValue(_header, out var values) && !string.IsNullOrWhiteSpace(values[0]))
        {
            return labels.LabelFor(values[0]!.Trim());
        }

        return labels.LabelFor(_fromBody ? bodyUser : null);
    }
}

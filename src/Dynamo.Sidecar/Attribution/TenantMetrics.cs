using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Dynamo.Sidecar.Attribution;

/// <summary>
/// The per-tenant families, in the sidecar's registry. Created only when attribution is on, so the Dynamo
/// families keep their label sets and a sidecar without attribution exports neither family.
/// </summary>
internal sealed class TenantMetrics
{
    private static readonly string[] RequestLabels = ["tenant", "model", "endpoint", "status"];
    private static readonly string[] TokenLabels = ["tenant", "model", "token_type"];

    private readonly Counter _requests;
    private readonly Counter _tokens;

    public TenantMetrics(SidecarMetrics metrics, IOptions<SidecarOptions> options)
    {
        var prefix = options.Value.Metrics.Prefix + "_";
        var factory = Metrics.WithCustomRegistry(metrics.Registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _requests = factory.CreateCounter(prefix + "tenant_requests_total", "Metered requests ended, by tenant.", RequestLabels);
        _tokens = factory.CreateCounter(prefix + "tenant_tokens_total", "Tokens by tenant: input, output (cancelled streams: the tokens that passed), cached, reasoning.", TokenLabels);
    }

    public void Record(string tenant, in RequestSummary summary)
    {
        Add(tenant, summary.Model, "input", summary.InputTokens);
        Add(tenant, summary.Model, "output", summary.OutputTokens);
        Add(tenant, summary.Model, "cached", summary.CachedTokens);
        Add(tenant, summary.Model, "reasoning", summary.ReasoningTokens);
        // Last, so a scrape that sees the request counted also sees its tokens.
        _requests.WithLabels(tenant, summary.Model, summary.Endpoint.Label(), summary.Outcome.Status).Inc();
    }

    private void Add(string tenant, string model, string tokenType, long tokens)
    {
        if (tokens > 0)
        {
            _tokens.WithLabels(tenant, model, tokenType).Inc(tokens);
        }
    }
}

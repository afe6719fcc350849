using Dynamo.Sidecar.SimulatedWorker.Api;
using Dynamo.Sidecar.SimulatedWorker.Faults;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Metrics;
using Dynamo.Sidecar.SimulatedWorker.Options;
using Dynamo.Sidecar.SimulatedWorker.PrefixCache;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.SimulatedWorker;

/// <summary>The worker's wiring: services, then the vLLM-compatible routes (OpenAI and Anthropic).</summary>
internal static class SimulatedWorkerExtensions
{
    public static IServiceCollection AddSimulatedWorker(this IServiceCollection services)
    {
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton(provider => new PrefixCacheIndex(
            provider.GetRequiredService<IOptions<WorkerOptions>>().Value.PrefixCacheBlockTokens));
        services.AddSingleton<SimulatedEngine>();
        return services;
    }

    public static IEndpointRouteBuilder MapSimulatedWorker(this IEndpointRouteBuilder endpoints)
    {
        // vLLM answers /health with an empty 200 once the engine is up.
        endpoints.MapGet("/health", () => Results.Ok());
        endpoints.MapGet("/metrics", (WorkerMetrics metrics) => Results.Text(metrics.Render(), WorkerMetrics.ContentType));

        var v1 = endpoints.MapGroup("/v1").AddEndpointFilter<OpenAiErrorFilter>().AddEndpointFilter<SimulatedFaultFilter>();
        v1.MapGet("/models", ModelsApi.HandleAsync);
        v1.MapPost("/chat/completions", ChatCompletionsApi.HandleAsync);
        v1.MapPost("/completions", CompletionsApi.HandleAsync);
        v1.MapPost("/responses", ResponsesApi.HandleAsync);
        v1.MapPost("/embeddings", EmbeddingsApi.HandleAsync);
        // Anthropic's clients expect Anthropic's error body, not vLLM's.
        endpoints.MapPost("/v1/messages", MessagesApi.HandleAsync)
            .AddEndpointFilter<AnthropicErrorFilter>()
            .AddEndpointFilter<SimulatedFaultFilter>();
        return endpoints;
    }
}

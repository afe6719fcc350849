using System.Diagnostics;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Tracing;

/// <summary>
/// The one span the sidecar exports per metered request, named and tagged by the OpenTelemetry GenAI
/// semantic conventions. Its parent is the client's span (from <c>traceparent</c>), never the ASP.NET Core
/// activity, which is not exported; it is the worker's parent through <see cref="TraceHeaderPropagator"/>.
/// </summary>
internal static class RequestSpan
{
    public const string FirstTokenEvent = "gen_ai.first_token";

    /// <summary>Starts the span and makes it current for the forwarding; null when the sampler left it out.</summary>
    public static Activity? Start(HttpRequest request, MeteredEndpoint endpoint, string model)
    {
        // A malformed traceparent starts a new trace, as the W3C spec asks.
        ActivityContext.TryParse(request.Headers.TraceParent, request.Headers.TraceState, isRemote: true, out var parent);
        var operation = OperationName(endpoint);
        var previous = Activity.Current;
        // With no parent context StartActivity would adopt Activity.Current, the unexported ASP.NET Core one.
        Activity.Current = null;
        var span = SidecarTracing.Source.StartActivity(
            $"{operation} {model}",
            ActivityKind.Server,
            parent,
            [new("gen_ai.operation.name", operation), new("gen_ai.request.model", model)]);
        if (span is null)
        {
            Activity.Current = previous;
        }

        return span;
    }

    public static void End(Activity span, Activity? previous, in RequestSummary summary)
    {
        if (span.IsAllDataRequested)
        {
            span.SetTag("http.response.status_code", summary.HttpStatus);
            SetTokens(span, "gen_ai.usage.input_tokens", summary.InputTokens);
            SetTokens(span, "gen_ai.usage.output_tokens", summary.OutputTokens);
            SetTokens(span, "gen_ai.usage.cache_read.input_tokens", summary.CachedTokens);
            SetTokens(span, "gen_ai.usage.reasoning.output_tokens", summary.ReasoningTokens);
            if (summary.TimeToFirstToken is { } ttft)
            {
                span.AddEvent(new ActivityEvent(FirstTokenEvent, new DateTimeOffset(span.StartTimeUtc + ttft)));
            }

            if (!summary.Outcome.IsSuccess)
            {
                span.SetTag("error.type", summary.Outcome.ErrorType);
                span.SetStatus(ActivityStatusCode.Error);
            }
        }

        span.Stop();
        Activity.Current = previous;
    }

    /// <summary><c>gen_ai.operation.name</c> of an endpoint.</summary>
    public static string OperationName(MeteredEndpoint endpoint) => endpoint switch
    {
        MeteredEndpoint.Completions => "text_completion",
        MeteredEndpoint.Embeddings => "embeddings",
        // Chat Completions, the Responses API and Anthropic Messages are all chat.
        _ => "chat",
    };

    private static void SetTokens(Activity span, string name, long tokens)
    {
        if (tokens >= 0)
        {
            span.SetTag(name, tokens);
        }
    }
}

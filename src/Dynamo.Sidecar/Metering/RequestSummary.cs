using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// What one metered request came to, built once when it ends and only when a request-end observer
/// (tenant metrics, access log, span) is enabled. Token figures are -1 when the worker did not report them.
/// </summary>
internal readonly record struct RequestSummary(
    string Model,
    MeteredEndpoint Endpoint,
    bool IsStream,
    int HttpStatus,
    RequestOutcome Outcome,
    long InputTokens,
    long OutputTokens,
    long CachedTokens,
    long ReasoningTokens,
    TimeSpan? TimeToFirstToken,
    TimeSpan Duration)
{
    public string RequestType => IsStream ? "stream" : "unary";
}

using Dynamo.Sidecar.Metering;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// The per-request state shared by the metering middleware and the response transform,
/// carried in <see cref="HttpContext.Features"/>.
/// </summary>
internal sealed class MeteredExchange(RequestMeter meter, bool removeUsageChunk)
{
    public RequestMeter Meter { get; } = meter;

    /// <summary>The sidecar forced <c>include_usage</c>; the client must not see the chunk it adds.</summary>
    public bool RemoveUsageChunk { get; } = removeUsageChunk;

    /// <summary>The response was an SSE stream the meter read, so how it ended can be judged.</summary>
    public bool StreamInspected { get; set; }
}

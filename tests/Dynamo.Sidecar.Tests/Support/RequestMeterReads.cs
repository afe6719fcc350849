using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Tests.Support;

internal static class RequestMeterReads
{
    /// <summary>A chunk that arrives in an upstream read of its own, as from a worker that paces its tokens.</summary>
    public static void OnChunkInOwnRead(this RequestMeter meter, in ChunkFacts chunk)
    {
        meter.OnChunk(chunk);
        meter.Publish();
    }
}

using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

public class ScratchTests
{
    [Fact]
    public void Print()
    {
        var metrics = MeteredStream.NewMetrics();
        var time = new ManualTimeProvider();
        var meter = new RequestMeter(metrics, time, "m", MeteredEndpoint.ChatCompletions, true);
        time.AdvanceSeconds(0.125);
        meter.OnChunk(new ChunkFacts { OutputChoices = 1, Usage = Usage.None });
        meter.Complete(RequestOutcome.Success);
        File.WriteAllText("/tmp/scratch/scrape.txt", MetricsScrape.Of(metrics.Registry).Text);
    }
}

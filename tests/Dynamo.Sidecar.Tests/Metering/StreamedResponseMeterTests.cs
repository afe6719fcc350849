using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

public class StreamedResponseMeterTests
{
    private static readonly VllmStream Chunks = new(MeteredStream.Model);

    private readonly SidecarMetrics _metrics = MeteredStream.NewMetrics();

    private (RequestMeter Meter, StreamedResponseMeter Observer) Create(bool removeUsageChunk, MeteredEndpoint endpoint = MeteredEndpoint.ChatCompletions)
    {
        var meter = new RequestMeter(_metrics, new ManualTimeProvider(), "m", endpoint, isStream: true);
        return (meter, new StreamedResponseMeter(meter, removeUsageChunk));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void UsageOnlyChunk_IsRemovedOnlyWhenAsked_ButAlwaysMetered(bool removeUsageChunk, bool kept)
    {
        var (meter, observer) = Create(removeUsageChunk);
        using var _ = observer;

        Assert.Equal(kept, observer.OnEvent(SseText.Utf8(SseText.Event("\n", Chunks.UsageOnly(7, 3, cached: 2))), singleLineLength: -1));
        meter.Complete(RequestOutcome.Success);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal((1, 7), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 2), scrape.Histogram("cached_sequence_length"));
    }

    [Theory]
    [InlineData("data: [DONE]\n\n")]
    [InlineData("data:[DONE]\r\n\r\n")]
    [InlineData("data: [DONE]")]
    public void Done_IsKept_AndEndsTheStreamWell(string rawEvent)
    {
        var (meter, observer) = Create(removeUsageChunk: true);

        Assert.True(observer.OnEvent(SseText.Utf8(rawEvent), singleLineLength: -1));
        Assert.True(meter.EndedWell);
    }

    [Theory]
    [InlineData(": ping\n\n")]
    [InlineData("\n")]
    [InlineData("event: x\nid: 1\n\n")]
    [InlineData("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}\n\n")]
    public void EventsThatAreNotChunks_AreKept_AndChangeNothing(string rawEvent)
    {
        var (meter, observer) = Create(removeUsageChunk: true);

        Assert.True(observer.OnEvent(SseText.Utf8(rawEvent), singleLineLength: -1));
        Assert.False(meter.EndedWell);
        meter.Complete(RequestOutcome.Success);
        Assert.False(MetricsScrape.Of(_metrics.Registry).Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public void ResponsesEvents_AreNeverRemoved()
    {
        var (meter, observer) = Create(removeUsageChunk: true, MeteredEndpoint.Responses);

        // Read as a Responses event, a chat usage-only chunk is just an event without a type.
        Assert.True(observer.OnEvent(SseText.Utf8(SseText.Event("\n", Chunks.UsageOnly(7, 3))), singleLineLength: -1));
        Assert.True(observer.OnEvent(SseText.Utf8("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"), singleLineLength: -1));
        Assert.True(meter.EndedWell);
    }

    [Fact]
    public void Dispose_ReturnsTheScratch_AndIsRepeatable()
    {
        var (_, observer) = Create(removeUsageChunk: true);
        Assert.True(observer.OnEvent("data: {\"choices\":\ndata: []}\n\n"u8, singleLineLength: -1));

        observer.Dispose();
        observer.Dispose();
    }
}

using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>
/// One metered request wired the way the proxy wires a streamed response: a fresh metrics registry,
/// a <see cref="RequestMeter"/> on a manual clock, a <see cref="StreamedResponseMeter"/> and the
/// <see cref="SseMeteringStream"/> over the worker's body.
/// </summary>
internal sealed class MeteredStream : IDisposable
{
    public const string Model = "m";

    private readonly bool _removeUsageChunk;

    public MeteredStream(Stream upstream, bool removeUsageChunk = true, MeteredEndpoint endpoint = MeteredEndpoint.ChatCompletions,
        int maxEventBytes = 1024 * 1024, ManualTimeProvider? time = null)
    {
        _removeUsageChunk = removeUsageChunk;
        Time = time ?? new ManualTimeProvider();
        Metrics = NewMetrics();
        Meter = new RequestMeter(Metrics, Time, Model, endpoint, isStream: true);
        Observer = new StreamedResponseMeter(Meter, removeUsageChunk);
        Stream = new SseMeteringStream(upstream, Observer, Meter, maxEventBytes);
    }

    public ManualTimeProvider Time { get; }
    public SidecarMetrics Metrics { get; }
    public RequestMeter Meter { get; }
    public StreamedResponseMeter Observer { get; }
    public SseMeteringStream Stream { get; }

    public static SidecarMetrics NewMetrics() => new(Options.Create(new SidecarOptions()));

    /// <summary>Reads everything the client would receive, then ends the request as the proxy would on a clean close.</summary>
    public byte[] ReadAllAndComplete(int readSize = 4096)
    {
        var bytes = SseText.ReadToEnd(Stream, readSize);
        Meter.Complete(RequestOutcome.Success);
        return bytes;
    }

    /// <summary>
    /// Reads everything the client would receive, then ends the request the way the proxy ends a 200 stream the
    /// worker closed cleanly: <see cref="OutcomeClassifier"/> judges how the stream ended.
    /// </summary>
    public byte[] ReadAllAndEndAsTheProxy(int readSize = 4096)
    {
        var bytes = SseText.ReadToEnd(Stream, readSize);
        var context = new DefaultHttpContext();
        context.Response.StatusCode = StatusCodes.Status200OK;
        Meter.Complete(OutcomeClassifier.Classify(context, new MeteredExchange(Meter, _removeUsageChunk) { StreamInspected = true }));
        return bytes;
    }

    public MetricsScrape Scrape() => MetricsScrape.Of(Metrics.Registry);

    public void Dispose()
    {
        Stream.Dispose();
        Observer.Dispose();
    }
}

using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Dynamo.Sidecar.Benchmarks.Support;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Benchmarks;

/// <summary>
/// <see cref="SseEventBenchmarks.ContentEvent"/> as it runs inside the sidecar: ASP.NET Core starts an
/// <see cref="Activity"/> for every request (its hosting diagnostics do whenever logging is on), and the response
/// body is copied in that request's execution context, so <see cref="Activity.Current"/> is set while events are metered.
/// prometheus-net then records an exemplar (trace and span id) on every counter increment and histogram observation.
/// </summary>
[MemoryDiagnoser]
public class SseEventInRequestActivityBenchmarks
{
    private const int EventsPerInvoke = 1_000;

    private readonly byte[] _copierBuffer = new byte[64 * 1024];
    private SseMeteringStream _contentStream = null!;
    private Activity _requestActivity = null!;

    [GlobalSetup]
    public void Setup()
    {
        // What Microsoft.AspNetCore.Hosting does per request; set here, it stays current on this thread for the benchmark.
        _requestActivity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn");
        _requestActivity.SetIdFormat(ActivityIdFormat.W3C);
        _requestActivity.Start();

        var metrics = new SidecarMetrics(Options.Create(new SidecarOptions()));
        var meter = new RequestMeter(metrics, TimeProvider.System, VllmChunks.Model, MeteredEndpoint.ChatCompletions, isStream: true);
        _contentStream = new SseMeteringStream(new ScriptedUpstream(VllmChunks.Content), new StreamedResponseMeter(meter, removeUsageChunk: true), meter, 1024 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _requestActivity.Stop();

    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public int ContentEventInRequestActivity()
    {
        if (Activity.Current is null)
        {
            throw new InvalidOperationException("The request activity must be current.");
        }

        var bytes = 0;
        for (var i = 0; i < EventsPerInvoke; i++)
        {
            var probe = _contentStream.ReadAsync(Memory<byte>.Empty);
            _ = probe.IsCompletedSuccessfully ? probe.Result : probe.AsTask().GetAwaiter().GetResult();
            var read = _contentStream.ReadAsync(_copierBuffer);
            bytes += read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
        }

        return bytes;
    }
}

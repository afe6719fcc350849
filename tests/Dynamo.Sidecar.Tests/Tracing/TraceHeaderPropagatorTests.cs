using System.Diagnostics;
using Dynamo.Sidecar.Tracing;

namespace Dynamo.Sidecar.Tests.Tracing;

public sealed class TraceHeaderPropagatorTests : IDisposable
{
    private const string ClientTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private readonly TraceHeaderPropagator _propagator = new(DistributedContextPropagator.CreateDefaultPropagator());
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == SidecarTracing.SourceName,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public TraceHeaderPropagatorTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose() => _listener.Dispose();

    [Fact]
    public void DeclaresNoFields_SoYarpRemovesNoneOfTheClientsHeaders() => Assert.Empty(_propagator.Fields);

    [Fact]
    public void WithoutASidecarSpan_NothingIsWrittenAndTheClientsHeadersStay()
    {
        using var aspNetCore = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").SetParentId(ClientTraceParent).Start();
        using var httpClient = new Activity("System.Net.Http.HttpRequestOut").Start();
        var request = Outgoing();

        _propagator.Inject(httpClient, request, Setter);

        Assert.Equal(ClientTraceParent, request.Headers.GetValues("traceparent").Single());
        Assert.Equal("a=1", request.Headers.GetValues("tracestate").Single());
    }

    [Fact]
    public void UnderASidecarSpan_TraceparentNamesThatSpan_AndTracestateIsTheClients()
    {
        ActivityContext.TryParse(ClientTraceParent, "a=1", isRemote: true, out var client);
        using var span = SidecarTracing.Source.StartActivity("chat m", ActivityKind.Server, client)!;
        using var httpClient = new Activity("System.Net.Http.HttpRequestOut").Start();
        var request = Outgoing();

        _propagator.Inject(httpClient, request, Setter);

        Assert.Equal($"00-0af7651916cd43dd8448eb211c80319c-{span.SpanId.ToHexString()}-01", request.Headers.GetValues("traceparent").Single());
        Assert.Equal("a=1", request.Headers.GetValues("tracestate").Single());
        Assert.Equal("k=v", request.Headers.GetValues("baggage").Single());
    }

    [Fact]
    public void AnUnrecordedSidecarSpan_LeavesTheClientsHeaders()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SidecarTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        _listener.Dispose();
        ActivitySource.AddActivityListener(listener);
        using var span = SidecarTracing.Source.StartActivity("chat m")!;
        var request = Outgoing();

        _propagator.Inject(span, request, Setter);

        Assert.Equal(ClientTraceParent, request.Headers.GetValues("traceparent").Single());
    }

    private static HttpRequestMessage Outgoing()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "http://worker/v1/chat/completions");
        request.Headers.TryAddWithoutValidation("traceparent", ClientTraceParent);
        request.Headers.TryAddWithoutValidation("tracestate", "a=1");
        request.Headers.TryAddWithoutValidation("baggage", "k=v");
        return request;
    }

    private static void Setter(object? carrier, string name, string value) =>
        ((HttpRequestMessage)carrier!).Headers.TryAddWithoutValidation(name, value);
}

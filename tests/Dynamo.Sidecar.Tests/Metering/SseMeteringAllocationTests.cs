using System.Text;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

/// <summary>
/// The token hot path (frame an event, read its JSON, count it, hand it out) allocates nothing per
/// event. Counted with the runtime's allocation counter, not timed.
/// </summary>
public sealed class SseMeteringAllocationTests
{
    // One vLLM decode step: the hot path's common case.
    private static readonly string ContentEvent = SseFrame.Event(new VllmStream(MeteredStream.Model).Content(" token"));

    [Fact]
    public void Content_events_allocate_nothing_once_warm()
    {
        const int warmUp = 1_000;
        const int measured = 10_000;
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(ContentEvent, warmUp + measured)));
        using var metered = new MeteredStream(new OneEventPerRead(bytes, ContentEvent.Length));
        var destination = new byte[64 * 1024];

        for (var i = 0; i < warmUp; i++)
        {
            Assert.Equal(ContentEvent.Length, ReadOnce(metered, destination));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var handedOut = 0L;
        for (var i = 0; i < measured; i++)
        {
            handedOut += ReadOnce(metered, destination);
        }

        var perEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)measured;
        Assert.Equal((long)measured * ContentEvent.Length, handedOut);
        Assert.Equal(0, perEvent);
        Assert.Equal(warmUp + measured, metered.Scrape().Value("output_tokens_total", ("model", MeteredStream.Model)));
    }

    // As YARP's copier reads: ReadAsync into a Memory<byte>; the upstream completes synchronously here.
    private static int ReadOnce(MeteredStream metered, byte[] destination) =>
        metered.Stream.ReadAsync(destination.AsMemory()).GetAwaiter().GetResult();

    /// <summary>A worker stream that delivers exactly one event per read, synchronously.</summary>
    private sealed class OneEventPerRead(byte[] bytes, int eventLength) : MemoryStream(bytes, writable: false)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, eventLength)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}

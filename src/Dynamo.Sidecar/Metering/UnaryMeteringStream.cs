using System.Runtime.CompilerServices;
using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// Passes a unary JSON response through unchanged while reading its <c>usage</c> on the way,
/// and hands the usage to the request's meter when the body ends. Steps 5 and 6 of a metered request
/// (<see cref="Proxy.MeteringMiddleware"/>) for a body that is one JSON document: there is nothing to frame, and
/// nothing to publish before the request closes.
/// </summary>
internal sealed class UnaryMeteringStream : ReadOnlyStream
{
    private readonly Stream _upstream;
    private readonly RequestMeter _meter;
    private readonly UnaryUsageReader _usage;
    private bool _disposed;

    /// <param name="anthropicInputIncludesCached">The worker's Anthropic <c>input_tokens</c> already counts cache reads.</param>
    public UnaryMeteringStream(Stream upstream, RequestMeter meter, int maxRetainedBytes, bool anthropicInputIncludesCached = false)
    {
        _upstream = upstream;
        _meter = meter;
        _usage = new UnaryUsageReader(maxRetainedBytes, UsageDialect.For(meter.Endpoint, anthropicInputIncludesCached));
    }

    // Pooled builder: a read that waits for the worker must not allocate a state machine per event.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var read = await _upstream.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            // :: Step 5: Read the chunk. The body's bytes pass on, its usage is read on the way.
            _usage.Append(destination.Span[..read]);
        }
        else if (!destination.IsEmpty)
        {
            // :: Step 6: Count. The body is whole: its usage is the request's.
            _meter.OnUnaryUsage(_usage.Usage);
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _usage.Dispose();
            _upstream.Dispose();
        }

        base.Dispose(disposing);
    }
}

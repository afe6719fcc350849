using Dynamo.Sidecar.IO;

namespace Dynamo.Sidecar.Benchmarks.Support;

/// <summary>
/// The worker's side of a response body, without a socket: each non-empty read returns the next piece of a
/// script, cycling forever, and completes synchronously, so a benchmark measures the reader and nothing else.
/// Zero-byte reads (YARP's copier probes with one before each read) complete at once, as data is always ready.
/// </summary>
internal sealed class ScriptedUpstream(params byte[][] pieces) : ReadOnlyStream
{
    private int _next;

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }

        var piece = pieces[_next];
        _next = _next + 1 == pieces.Length ? 0 : _next + 1;
        piece.CopyTo(destination.Span);
        return ValueTask.FromResult(piece.Length);
    }
}

using Dynamo.Sidecar.IO;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>Returns the given bytes, then throws on the read after them (a connection reset mid-body).</summary>
internal sealed class ThrowingStream(byte[] data, Exception error) : ReadOnlyStream
{
    private int _position;

    public bool Disposed { get; private set; }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_position == data.Length)
        {
            return ValueTask.FromException<int>(error);
        }

        var count = Math.Min(destination.Length, data.Length - _position);
        data.AsSpan(_position, count).CopyTo(destination.Span);
        _position += count;
        return ValueTask.FromResult(count);
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}

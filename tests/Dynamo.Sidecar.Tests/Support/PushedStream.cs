using System.Threading.Channels;
using Dynamo.Sidecar.IO;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>
/// A body whose bytes the test pushes while it is being read: a read (a zero-byte read too) waits
/// until a piece is there, and <see cref="Log"/> records when the consumer asked for more.
/// </summary>
internal sealed class PushedStream : ReadOnlyStream
{
    private readonly Channel<byte[]> _pieces = Channel.CreateUnbounded<byte[]>();
    private byte[] _current = [];
    private int _position;

    /// <summary>Shared with the test, which adds its own entries (e.g. what the client received).</summary>
    public List<string> Log { get; init; } = [];

    /// <summary>Bytes the consumer has taken so far.</summary>
    public long Consumed { get; private set; }

    public void Push(byte[] piece) => _pieces.Writer.TryWrite(piece);

    public void Push(string piece) => Push(System.Text.Encoding.UTF8.GetBytes(piece));

    public void End() => _pieces.Writer.TryComplete();

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        Log.Add(destination.IsEmpty ? "upstream probe" : "upstream read");
        while (_position == _current.Length)
        {
            if (!await _pieces.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            if (destination.IsEmpty)
            {
                return 0;
            }

            _pieces.Reader.TryRead(out var next);
            _current = next!;
            _position = 0;
        }

        var count = Math.Min(destination.Length, _current.Length - _position);
        _current.AsSpan(_position, count).CopyTo(destination.Span);
        _position += count;
        Consumed += count;
        return count;
    }
}

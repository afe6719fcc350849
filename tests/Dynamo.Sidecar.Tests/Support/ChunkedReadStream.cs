using Dynamo.Sidecar.IO;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>
/// Returns a fixed byte sequence in reads that never cross the given piece boundaries (like bytes
/// arriving in TCP segments), and records every read it is asked for.
/// </summary>
internal sealed class ChunkedReadStream : ReadOnlyStream
{
    private readonly byte[] _data;
    private readonly int[] _boundaries;
    private int _position;
    private int _nextBoundary;

    private ChunkedReadStream(byte[] data, int[] boundaries)
    {
        _data = data;
        _boundaries = boundaries;
    }

    /// <summary>Called before each non-empty read is served, with the index of the read (0-based).</summary>
    public Action<int>? BeforeRead { get; set; }

    /// <summary>Number of reads (zero-byte probes included) the consumer asked for.</summary>
    public int ReadCalls { get; private set; }

    public int ZeroByteReads { get; private set; }

    public int Consumed => _position;

    /// <summary>Pieces split at the given offsets: [0,o1), [o1,o2), ..., [on,end).</summary>
    public static ChunkedReadStream SplitAt(byte[] data, params int[] offsets) =>
        new(data, [.. offsets.Where(o => o > 0 && o < data.Length).Distinct().Order(), data.Length]);

    /// <summary>Pieces of <paramref name="size"/> bytes (the last one shorter).</summary>
    public static ChunkedReadStream InPiecesOf(byte[] data, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var boundaries = new List<int>();
        for (var end = size; end < data.Length; end += size)
        {
            boundaries.Add(end);
        }

        boundaries.Add(data.Length);
        return new ChunkedReadStream(data, [.. boundaries]);
    }

    /// <summary>The given pieces, concatenated.</summary>
    public static ChunkedReadStream OfPieces(params byte[][] pieces)
    {
        var boundaries = new int[pieces.Length];
        var total = 0;
        for (var i = 0; i < pieces.Length; i++)
        {
            total += pieces[i].Length;
            boundaries[i] = total;
        }

        return new ChunkedReadStream([.. pieces.SelectMany(p => p)], boundaries);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ReadCalls++;
        if (destination.IsEmpty)
        {
            ZeroByteReads++;
            return ValueTask.FromResult(0);
        }

        while (_nextBoundary < _boundaries.Length && _boundaries[_nextBoundary] <= _position)
        {
            _nextBoundary++;
        }

        if (_position == _data.Length)
        {
            return ValueTask.FromResult(0);
        }

        BeforeRead?.Invoke(ReadCalls - ZeroByteReads - 1);
        var count = Math.Min(destination.Length, _boundaries[_nextBoundary] - _position);
        _data.AsSpan(_position, count).CopyTo(destination.Span);
        _position += count;
        return ValueTask.FromResult(count);
    }
}

namespace Dynamo.Sidecar.IO;

/// <summary>Replays bytes already read from a stream, then continues with the rest of it.</summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ReadOnlyStream
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_prefix.IsEmpty || destination.IsEmpty)
        {
            return _prefix.IsEmpty ? rest.ReadAsync(destination, cancellationToken) : ValueTask.FromResult(0);
        }

        var count = Math.Min(destination.Length, _prefix.Length);
        _prefix.Span[..count].CopyTo(destination.Span);
        _prefix = _prefix[count..];
        return ValueTask.FromResult(count);
    }
}

using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.Sse;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// The worker's body: serves each read with a random number of bytes (never more than asked),
/// counts what the consumer has pulled, and optionally fails once <paramref name="failAt"/> bytes have been
/// served, like a connection reset mid-body.
/// </summary>
internal sealed class FuzzUpstream(byte[] data, Random rng, Exception? failure, int failAt) : ReadOnlyStream
{
    private int _position;

    public long Pulled => _position;

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }

        var end = failure is null ? data.Length : failAt;
        if (_position == end)
        {
            return failure is null ? ValueTask.FromResult(0) : ValueTask.FromException<int>(failure);
        }

        var count = Math.Min(Math.Min(destination.Length, end - _position), rng.SkewedSize(destination.Length));
        data.AsSpan(_position, count).CopyTo(destination.Span);
        _position += count;
        return ValueTask.FromResult(count);
    }
}

/// <summary>
/// Sits between <see cref="SseMeteringStream"/> and the real observer: counts the bytes it removes and checks
/// that it is shown exactly the events the reference framer expects, in order, never one larger than the cap.
/// An event that ends in CRLF may be shown without its final LF (the LF had not arrived yet); optional
/// events may be skipped.
/// </summary>
internal sealed class CheckingObserver(ISseEventObserver inner, byte[] input, List<(RefEvent Event, bool Optional)> expected) : ISseEventObserver
{
    private int _next;

    public long RemovedBytes { get; private set; }

    public int RemovedEvents { get; private set; }

    public string? Failure { get; private set; }

    /// <summary>True when every required event was shown.</summary>
    public bool SawAll => Failure is null && expected.Skip(_next).All(e => e.Optional);

    public bool OnEvent(SseEvent sseEvent)
    {
        var rawEvent = sseEvent.Raw;
        if (Failure is null)
        {
            while (_next < expected.Count && !Matches(rawEvent, expected[_next].Event) && expected[_next].Optional)
            {
                _next++;
            }

            if (_next < expected.Count && Matches(rawEvent, expected[_next].Event))
            {
                _next++;
            }
            else
            {
                var wanted = _next < expected.Count ? Fuzz.Show(input.AsSpan(expected[_next].Event.Start, expected[_next].Event.Length), 200) : "(no more events)";
                Failure = $"observer event #{_next} was [{Fuzz.Show(rawEvent, 200)}] ({rawEvent.Length} bytes), expected [{wanted}]";
            }
        }

        var keep = inner.OnEvent(sseEvent);
        if (!keep)
        {
            RemovedBytes += rawEvent.Length;
            RemovedEvents++;
        }

        return keep;
    }

    private bool Matches(ReadOnlySpan<byte> rawEvent, RefEvent expectedEvent)
    {
        var bytes = input.AsSpan(expectedEvent.Start, expectedEvent.Length);
        return rawEvent.SequenceEqual(bytes) || (bytes.EndsWith("\r\n"u8) && rawEvent.SequenceEqual(bytes[..^1]));
    }
}

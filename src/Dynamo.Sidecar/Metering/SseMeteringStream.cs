using System.Buffers;
using System.Runtime.CompilerServices;
using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.Sse;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// A read-only stream over the worker's SSE body that hands its reader whole events only: each
/// event is shown to an <see cref="ISseEventObserver"/> the moment its blank line arrives, then
/// either released to the reader (YARP's copier, which writes and flushes it at once) or removed.
/// Memory is bounded by one event: an event larger than the cap is passed through unparsed.
/// Steps 4 to 7 of a metered request (<see cref="Proxy.MeteringMiddleware"/>) run here, once per upstream read.
/// </summary>
internal sealed class SseMeteringStream : ReadOnlyStream
{
    // As much as YARP's copier asks for: under a fast worker, fewer and larger reads and writes per event.
    internal const int ReadSize = 64 * 1024;

    private readonly Stream _upstream;
    private readonly ISseEventObserver _observer;
    private readonly RequestMeter _meter;

    // Layout of _buffer: [_readyStart, _readyEnd) complete events not yet handed out,
    // [_readyEnd, _end) the event still arriving. The buffer is rented only while it holds bytes.
    private byte[]? _buffer;
    private int _readyStart;
    private int _readyEnd;
    private int _end;
    private SseEventFramer _framer;
    private bool _previousEventRemoved;
    private bool _upstreamEnded;
    private bool _disposed;

    /// <param name="observer">Reads and counts each event into <paramref name="meter"/> (steps 5 and 6).</param>
    /// <param name="meter">The request's meter, which publishes what each upstream read added (step 7).</param>
    public SseMeteringStream(Stream upstream, ISseEventObserver observer, RequestMeter meter, int maxEventBytes)
    {
        _upstream = upstream;
        _observer = observer;
        _meter = meter;
        _framer = new SseEventFramer(maxEventBytes);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // The two answers that need no await skip the state machine: events already framed, and the reader's
        // probe for data before it rents its buffer (answered by the worker's own zero-byte read, so an idle
        // stream holds no memory).
        if (_readyEnd > _readyStart)
        {
            return ValueTask.FromResult(destination.IsEmpty ? 0 : HandOut(destination.Span));
        }

        if (_buffer is null && destination.IsEmpty && !_upstreamEnded)
        {
            return _upstream.ReadAsync(Memory<byte>.Empty, cancellationToken);
        }

        return ReadFramedAsync(destination, cancellationToken);
    }

    // Pooled builder: a read that waits for the worker must not allocate a state machine per event.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadFramedAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_readyEnd > _readyStart)
            {
                return destination.IsEmpty ? 0 : HandOut(destination.Span);
            }

            if (_upstreamEnded)
            {
                if (_end == _readyEnd)
                {
                    return 0;
                }

                // The bytes after the last end (steps 4 to 7 once more): an event held back for the byte after its
                // final CR, or an unterminated tail.
                EndOfUpstream();
                _meter.Publish();
                continue;
            }

            if (!MakeRoom())
            {
                continue;
            }

            var read = await _upstream.ReadAsync(_buffer.AsMemory(_end, Math.Min(ReadSize, _buffer!.Length - _end)), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _upstreamEnded = true;
                continue;
            }

            // :: Step 4: Frame. The bytes just read are cut into whole events (SseEventFramer), each shown to the
            //    observer as its blank line arrives; StreamedResponseMeter reads its chunk (step 5) and counts it (step 6).
            Frame(read);

            // :: Step 7: Publish. The events of one read arrived together: what they added reaches the metrics at once.
            _meter.Publish();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            ReturnBuffer();
            _upstream.Dispose();
        }

        base.Dispose(disposing);
    }

    private int HandOut(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _readyEnd - _readyStart);
        _buffer.AsSpan(_readyStart, count).CopyTo(destination);
        _readyStart += count;
        if (_readyStart == _end)
        {
            ReturnBuffer();
        }

        return count;
    }

    /// <summary>Makes space after the arriving event. Returns false when it released bytes instead.</summary>
    private bool MakeRoom()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
            return true;
        }

        var arriving = _end - _readyEnd;
        if (_readyEnd > 0)
        {
            _buffer.AsSpan(_readyEnd, arriving).CopyTo(_buffer);
            _readyStart = _readyEnd = 0;
            _end = arriving;
        }

        if (arriving > 0 && _framer.IsOversized)
        {
            // Too large to inspect: release what we hold and let the rest of this event flow unparsed.
            _readyEnd = _end;
            return false;
        }

        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return true;
    }

    /// <summary>Frames the <paramref name="count"/> bytes just read at <c>_end</c>.</summary>
    private void Frame(int count)
    {
        var position = _end;
        _end += count;
        while (position < _end)
        {
            var length = _framer.FindEventEnd(_buffer.AsSpan(position, _end - position));
            if (length < 0)
            {
                return;
            }

            position = EndEvent(position + length);
        }
    }

    /// <summary>Keeps or removes what the framer just ended at <paramref name="end"/>. Returns where framing goes on.</summary>
    private int EndEvent(int end)
    {
        var keep = _framer.Framed switch
        {
            SseFramed.Event => _observer.OnEvent(_framer.Event(_buffer.AsSpan(_readyEnd, end - _readyEnd))),
            SseFramed.LfOfPreviousEvent => !_previousEventRemoved,
            _ => true,
        };
        _previousEventRemoved = !keep;
        if (keep)
        {
            return _readyEnd = end;
        }

        Remove(_readyEnd, end - _readyEnd);
        return _readyEnd;
    }

    private void Remove(int start, int count)
    {
        _buffer.AsSpan(start + count, _end - start - count).CopyTo(_buffer.AsSpan(start));
        _end -= count;
    }

    /// <summary>
    /// At the end of the stream: an event the framer held back ends here; bytes without a closing blank line still
    /// belong to the client.
    /// </summary>
    private void EndOfUpstream()
    {
        if (_framer.EndOfStream())
        {
            EndEvent(_end);
            return;
        }

        if (!_framer.IsOversized)
        {
            _observer.OnEvent(new SseEvent(_buffer.AsSpan(_readyEnd, _end - _readyEnd)));
        }

        _readyEnd = _end;
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _readyStart = _readyEnd = _end = 0;
    }
}

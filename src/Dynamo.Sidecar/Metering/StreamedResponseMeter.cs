using System.Buffers;
using Dynamo.Sidecar.Anthropic;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Sse;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// Meters each event of a streamed OpenAI or Anthropic response and removes the usage-only chunk that the
/// sidecar forced when the client did not ask for it (SPEC §1.4): steps 5 and 6 of a metered request
/// (<see cref="Proxy.MeteringMiddleware"/>).
/// </summary>
internal sealed class StreamedResponseMeter : ISseEventObserver, IDisposable
{
    private readonly RequestMeter _meter;
    private readonly bool _removeUsageChunk;
    private readonly CompletionChunkStream _chunks = new();
    private readonly AnthropicEventReader? _messages;
    private byte[]? _scratch;

    /// <param name="anthropicInputIncludesCached">The worker's Anthropic <c>input_tokens</c> already counts cache reads.</param>
    public StreamedResponseMeter(RequestMeter meter, bool removeUsageChunk, bool anthropicInputIncludesCached = false)
    {
        _meter = meter;
        _removeUsageChunk = removeUsageChunk;
        _messages = meter.Endpoint == MeteredEndpoint.AnthropicMessages ? new AnthropicEventReader(anthropicInputIncludesCached) : null;
    }

    public bool OnEvent(SseEvent sseEvent)
    {
        // :: Step 5: Read the chunk. The event's data, read by the endpoint's own chunk reader.
        if (!sseEvent.TryGetData(ref _scratch, out var data))
        {
            return true;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            _meter.OnDone();
            return true;
        }

        ChunkFacts chunk;
        var read = _meter.Endpoint switch
        {
            MeteredEndpoint.Responses => ResponsesEventReader.TryRead(data, out chunk),
            MeteredEndpoint.AnthropicMessages => _messages!.TryRead(data, out chunk),
            _ => _chunks.TryRead(data, out chunk),
        };
        if (!read)
        {
            return true;
        }

        // :: Step 6: Count it.
        _meter.OnChunk(chunk);
        return !(_removeUsageChunk && chunk.IsUsageOnly);
    }

    public void Dispose()
    {
        _chunks.Dispose();
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }
}

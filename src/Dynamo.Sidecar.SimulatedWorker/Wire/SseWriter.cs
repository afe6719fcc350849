using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>
/// Writes server-sent events straight into the response pipe: the JSON is serialized into the pipe's own
/// buffer, and every event is flushed at once so the client sees each token when it is produced.
/// </summary>
internal sealed class SseWriter(PipeWriter pipe)
{
    private readonly Utf8JsonWriter _json = new(pipe, WireJson.WriterOptions);

    /// <summary>Starts an unnamed event (<c>data: </c>); write one JSON value, then call <see cref="EndEventAsync"/>.</summary>
    public Utf8JsonWriter BeginData()
    {
        pipe.Write("data: "u8);
        return _json;
    }

    /// <summary>Starts a named event (<c>event: name</c> then <c>data: </c>).</summary>
    public Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> eventName)
    {
        pipe.Write("event: "u8);
        pipe.Write(eventName);
        pipe.Write("\ndata: "u8);
        return _json;
    }

    public async ValueTask EndEventAsync(CancellationToken cancellationToken)
    {
        _json.Flush();
        _json.Reset();
        pipe.Write("\n\n"u8);
        await pipe.FlushAsync(cancellationToken);
    }

    /// <summary>The OpenAI-style end-of-stream sentinel.</summary>
    public async ValueTask WriteDoneAsync(CancellationToken cancellationToken)
    {
        pipe.Write("data: [DONE]\n\n"u8);
        await pipe.FlushAsync(cancellationToken);
    }
}

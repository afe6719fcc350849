using System.IO.Pipelines;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>vLLM's <c>/v1/chat/completions</c> bytes: <c>chat.completion.chunk</c> events or one <c>chat.completion</c>.</summary>
internal sealed class ChatCompletionWire(PipeWriter body, GenerationJob job) : IGenerationWire
{
    private static readonly JsonEncodedText ChunkObject = JsonEncodedText.Encode("chat.completion.chunk");
    private static readonly JsonEncodedText UnaryObject = JsonEncodedText.Encode("chat.completion");
    private static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText ToolCalls = JsonEncodedText.Encode("tool_calls");

    private readonly CompletionChunks _chunks = new(new SseWriter(body), job, WireJson.NewId("chatcmpl-"), ChunkObject);

    public ValueTask WriteStreamStartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // vLLM opens every choice with an empty assistant delta before its first token.
    public async ValueTask WriteOutputStartAsync(CancellationToken cancellationToken)
    {
        for (var choice = 0; choice < job.Choices; choice++)
        {
            var json = _chunks.BeginChunk();
            json.WriteStartObject();
            json.WriteNumber(WireJson.Index, choice);
            json.WriteStartObject(Delta);
            json.WriteString(WireJson.Role, WireJson.Assistant);
            json.WriteString(WireJson.Content, ""u8);
            json.WriteEndObject();
            json.WriteNull(WireJson.Logprobs);
            json.WriteNull(WireJson.FinishReason);
            json.WriteEndObject();
            await _chunks.EndChunkAsync(json, generatedSoFar: 0, cancellationToken);
        }
    }

    public ValueTask WriteTokenAsync(int choice, int position, bool isLast, int generatedSoFar, CancellationToken cancellationToken)
    {
        var json = _chunks.BeginChunk();
        json.WriteStartObject();
        json.WriteNumber(WireJson.Index, choice);
        json.WriteStartObject(Delta);
        json.WriteString(WireJson.Content, TokenSource.TokenAt(position));
        json.WriteEndObject();
        json.WriteNull(WireJson.Logprobs);
        if (isLast)
        {
            // Only the finishing chunk carries stop_reason; vLLM leaves it unset on the others.
            json.WriteString(WireJson.FinishReason, WireJson.Length);
            json.WriteNull(WireJson.StopReason);
        }
        else
        {
            json.WriteNull(WireJson.FinishReason);
        }

        json.WriteEndObject();
        return _chunks.EndChunkAsync(json, generatedSoFar, cancellationToken);
    }

    public ValueTask WriteStreamEndAsync(int generatedTokens, CancellationToken cancellationToken) =>
        _chunks.WriteEndAsync(generatedTokens, cancellationToken);

    public void WriteUnary(PooledByteBuffer output)
    {
        using var text = new PooledByteBuffer();
        TokenSource.WriteText(job.MaxTokens, text);
        using var json = _chunks.BeginUnary(output, UnaryObject);
        for (var choice = 0; choice < job.Choices; choice++)
        {
            json.WriteStartObject();
            json.WriteNumber(WireJson.Index, choice);
            json.WriteStartObject(Message);
            json.WriteString(WireJson.Role, WireJson.Assistant);
            json.WriteString(WireJson.Content, text.WrittenSpan);
            json.WriteStartArray(ToolCalls);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteNull(WireJson.Logprobs);
            json.WriteString(WireJson.FinishReason, WireJson.Length);
            json.WriteNull(WireJson.StopReason);
            json.WriteEndObject();
        }

        _chunks.EndUnary(json);
    }
}

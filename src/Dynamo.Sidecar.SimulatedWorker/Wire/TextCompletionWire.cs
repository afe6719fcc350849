using System.IO.Pipelines;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>vLLM's <c>/v1/completions</c> bytes: <c>text_completion</c> chunks or one <c>text_completion</c> object.</summary>
internal sealed class TextCompletionWire(PipeWriter body, GenerationJob job) : IGenerationWire
{
    private static readonly JsonEncodedText TextCompletionObject = JsonEncodedText.Encode("text_completion");

    private readonly CompletionChunks _chunks = new(new SseWriter(body), job, WireJson.NewId("cmpl-"), TextCompletionObject);

    public ValueTask WriteStreamStartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // Unlike chat, text completions have no role chunk.
    public ValueTask WriteOutputStartAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask WriteTokenAsync(int choice, int position, bool isLast, int generatedSoFar, CancellationToken cancellationToken)
    {
        var json = _chunks.BeginChunk();
        WriteChoice(json, choice, TokenSource.TokenAt(position), isLast);
        return _chunks.EndChunkAsync(json, generatedSoFar, cancellationToken);
    }

    public ValueTask WriteStreamEndAsync(int generatedTokens, CancellationToken cancellationToken) =>
        _chunks.WriteEndAsync(generatedTokens, cancellationToken);

    public void WriteUnary(PooledByteBuffer output)
    {
        using var text = new PooledByteBuffer();
        TokenSource.WriteText(job.MaxTokens, text);
        using var json = _chunks.BeginUnary(output, TextCompletionObject);
        for (var choice = 0; choice < job.Choices; choice++)
        {
            json.WriteStartObject();
            json.WriteNumber(WireJson.Index, choice);
            json.WriteString(WireJson.Text, text.WrittenSpan);
            WriteChoiceEnd(json, isLast: true);
        }

        _chunks.EndUnary(json);
    }

    private static void WriteChoice(Utf8JsonWriter json, int choice, JsonEncodedText token, bool isLast)
    {
        json.WriteStartObject();
        json.WriteNumber(WireJson.Index, choice);
        json.WriteString(WireJson.Text, token);
        WriteChoiceEnd(json, isLast);
    }

    // Text completion choices always carry stop_reason, unlike chat deltas.
    private static void WriteChoiceEnd(Utf8JsonWriter json, bool isLast)
    {
        json.WriteNull(WireJson.Logprobs);
        if (isLast)
        {
            json.WriteString(WireJson.FinishReason, WireJson.Length);
        }
        else
        {
            json.WriteNull(WireJson.FinishReason);
        }

        json.WriteNull(WireJson.StopReason);
        json.WriteEndObject();
    }
}

using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>The envelope shared by vLLM's chat and text completion chunks: everything but the choice body.</summary>
internal sealed class CompletionChunks(SseWriter sse, GenerationJob job, JsonEncodedText id, JsonEncodedText objectName)
{
    /// <summary>Writes the envelope up to the opening of the <c>choices</c> array.</summary>
    public Utf8JsonWriter BeginChunk()
    {
        var json = sse.BeginData();
        json.WriteStartObject();
        json.WriteString(WireJson.Id, id);
        json.WriteString(WireJson.Object, objectName);
        json.WriteNumber(WireJson.Created, job.Created);
        json.WriteString(WireJson.Model, job.Model);
        json.WriteStartArray(WireJson.Choices);
        return json;
    }

    /// <summary>Closes <c>choices</c>, adds the usage that <c>stream_options</c> asked for, and flushes the event.</summary>
    public ValueTask EndChunkAsync(Utf8JsonWriter json, int generatedSoFar, CancellationToken cancellationToken)
    {
        json.WriteEndArray();
        switch (job.Usage)
        {
            case StreamUsage.FinalChunk:
                json.WriteNull(WireJson.Usage);
                break;
            case StreamUsage.Continuous:
                json.WriteStartObject(WireJson.Usage);
                json.WriteNumber(WireJson.PromptTokens, job.Prompt.PromptTokens);
                json.WriteNumber(WireJson.TotalTokens, job.Prompt.PromptTokens + generatedSoFar);
                json.WriteNumber(WireJson.CompletionTokens, generatedSoFar);
                json.WriteEndObject();
                break;
        }

        json.WriteEndObject();
        return sse.EndEventAsync(cancellationToken);
    }

    /// <summary>The usage-only chunk (if requested), then <c>[DONE]</c>.</summary>
    public async ValueTask WriteEndAsync(int generatedTokens, CancellationToken cancellationToken)
    {
        if (job.Usage != StreamUsage.None)
        {
            var json = BeginChunk();
            json.WriteEndArray();
            WireJson.WriteFinalUsage(json, job.Prompt.PromptTokens, job.Prompt.CachedTokens, generatedTokens);
            json.WriteEndObject();
            await sse.EndEventAsync(cancellationToken);
        }

        await sse.WriteDoneAsync(cancellationToken);
    }

    /// <summary>Starts a unary response: the same envelope, positioned inside <c>choices</c>.</summary>
    public Utf8JsonWriter BeginUnary(PooledByteBuffer body, JsonEncodedText unaryObjectName)
    {
        var json = new Utf8JsonWriter(body, WireJson.WriterOptions);
        json.WriteStartObject();
        json.WriteString(WireJson.Id, id);
        json.WriteString(WireJson.Object, unaryObjectName);
        json.WriteNumber(WireJson.Created, job.Created);
        json.WriteString(WireJson.Model, job.Model);
        json.WriteStartArray(WireJson.Choices);
        return json;
    }

    /// <summary>Closes <c>choices</c>, adds final usage and commits the JSON to the body buffer.</summary>
    public void EndUnary(Utf8JsonWriter json)
    {
        json.WriteEndArray();
        WireJson.WriteFinalUsage(json, job.Prompt.PromptTokens, job.Prompt.CachedTokens, job.MaxTokens * job.Choices);
        json.WriteEndObject();
        json.Flush();
    }
}

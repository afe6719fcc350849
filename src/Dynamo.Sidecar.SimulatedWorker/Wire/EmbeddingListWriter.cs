using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>Writes vLLM's <c>/v1/embeddings</c> response: one small deterministic unit vector per input.</summary>
internal sealed class EmbeddingListWriter : IDisposable
{
    /// <summary>Dimensions per embedding; small on purpose, real models return hundreds.</summary>
    public const int Dimensions = 8;

    private static readonly JsonEncodedText ListObject = JsonEncodedText.Encode("list");
    private static readonly JsonEncodedText EmbeddingObject = JsonEncodedText.Encode("embedding");

    private readonly Utf8JsonWriter _json;
    private int _count;

    public EmbeddingListWriter(PooledByteBuffer output, JsonEncodedText model, long created)
    {
        _json = new Utf8JsonWriter(output, WireJson.WriterOptions);
        _json.WriteStartObject();
        _json.WriteString(WireJson.Id, WireJson.NewId("embd-"));
        _json.WriteString(WireJson.Object, ListObject);
        _json.WriteNumber(WireJson.Created, created);
        _json.WriteString(WireJson.Model, model);
        _json.WriteStartArray(WireJson.Data);
    }

    /// <summary>Adds the embedding of one input; the same text always gets the same vector.</summary>
    public void Add(ReadOnlySpan<byte> input)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, digest);
        Span<float> vector = stackalloc float[Dimensions];
        var norm = 0d;
        for (var i = 0; i < Dimensions; i++)
        {
            vector[i] = BinaryPrimitives.ReadInt32LittleEndian(digest[(i * sizeof(int))..]) / (float)int.MaxValue;
            norm += vector[i] * vector[i];
        }

        var scale = (float)(1 / Math.Sqrt(norm));
        _json.WriteStartObject();
        _json.WriteNumber(WireJson.Index, _count++);
        _json.WriteString(WireJson.Object, EmbeddingObject);
        _json.WriteStartArray(EmbeddingObject);
        foreach (var value in vector)
        {
            _json.WriteNumberValue(value * scale);
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
    }

    /// <summary>Closes <c>data</c> and writes usage; embeddings have no completion tokens and no cache details.</summary>
    public void Complete(int promptTokens)
    {
        _json.WriteEndArray();
        _json.WriteStartObject(WireJson.Usage);
        _json.WriteNumber(WireJson.PromptTokens, promptTokens);
        _json.WriteNumber(WireJson.TotalTokens, promptTokens);
        _json.WriteNumber(WireJson.CompletionTokens, 0);
        _json.WriteNull(WireJson.PromptTokensDetails);
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.Flush();
    }

    public void Dispose() => _json.Dispose();
}

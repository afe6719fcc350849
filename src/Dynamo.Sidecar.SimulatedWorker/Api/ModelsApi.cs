using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>
/// <c>GET /v1/models</c>: the one simulated model, in vLLM's shape (its <c>ModelCard</c>: <c>max_model_len</c>, which
/// the sidecar exports as <c>model_context_length</c>, and one default <c>ModelPermission</c>).
/// </summary>
internal static class ModelsApi
{
    private static readonly JsonEncodedText ModelId = JsonEncodedText.Encode(SimulatedModel.Id);

    public static async Task HandleAsync(HttpContext context, SimulatedEngine engine)
    {
        using var body = new PooledByteBuffer();
        using (var json = new Utf8JsonWriter(body, WireJson.WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString(WireJson.Object, "list"u8);
            json.WriteStartArray(WireJson.Data);
            json.WriteStartObject();
            json.WriteString(WireJson.Id, ModelId);
            json.WriteString(WireJson.Object, "model"u8);
            json.WriteNumber(WireJson.Created, engine.UnixTimeSeconds);
            json.WriteString("owned_by"u8, "vllm"u8);
            json.WriteString("root"u8, ModelId);
            json.WriteNull("parent"u8);
            json.WriteNumber("max_model_len"u8, SimulatedModel.MaxModelLength);
            json.WriteStartArray("permission"u8);
            json.WriteStartObject();
            json.WriteString(WireJson.Id, $"modelperm-{Guid.NewGuid():N}");
            json.WriteString(WireJson.Object, "model_permission"u8);
            json.WriteNumber(WireJson.Created, engine.UnixTimeSeconds);
            json.WriteBoolean("allow_create_engine"u8, false);
            json.WriteBoolean("allow_sampling"u8, true);
            json.WriteBoolean("allow_logprobs"u8, true);
            json.WriteBoolean("allow_search_indices"u8, false);
            json.WriteBoolean("allow_view"u8, true);
            json.WriteBoolean("allow_fine_tuning"u8, false);
            json.WriteString("organization"u8, "*"u8);
            json.WriteNull("group"u8);
            json.WriteBoolean("is_blocking"u8, false);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        await JsonBody.WriteAsync(context.Response, body, context.RequestAborted);
    }
}

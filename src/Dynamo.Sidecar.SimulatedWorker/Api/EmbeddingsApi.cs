using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Metrics;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary><c>POST /v1/embeddings</c>: unary only, no prefix cache, no pacing.</summary>
internal static class EmbeddingsApi
{
    private const string InvalidInput = "Field 'input' must be a string or a non-empty array of strings.";

    public static async Task HandleAsync(HttpContext context, SimulatedEngine engine, WorkerMetrics metrics)
    {
        using var body = new PooledByteBuffer();
        using (var document = await OpenAiRequest.ReadJsonAsync(context.Request))
        using (var text = new PooledByteBuffer())
        {
            var root = document.RootElement;
            var model = OpenAiRequest.GetModel(root);
            var input = OpenAiRequest.GetRequired(root, "input");
            using var embeddings = new EmbeddingListWriter(body, model, engine.UnixTimeSeconds);
            var promptTokens = 0;
            if (input.ValueKind == JsonValueKind.String)
            {
                promptTokens = Embed(input, text, embeddings);
            }
            else if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() > 0)
            {
                foreach (var item in input.EnumerateArray())
                {
                    promptTokens += item.ValueKind == JsonValueKind.String
                        ? Embed(item, text, embeddings)
                        : throw new BadHttpRequestException(InvalidInput);
                }
            }
            else
            {
                throw new BadHttpRequestException(InvalidInput);
            }

            embeddings.Complete(promptTokens);
            metrics.PromptEmbedded(promptTokens);
        }

        await JsonBody.WriteAsync(context.Response, body, context.RequestAborted);
    }

    private static int Embed(JsonElement input, PooledByteBuffer text, EmbeddingListWriter embeddings)
    {
        text.Clear();
        PromptReader.AppendString(input, text);
        embeddings.Add(text.WrittenSpan);
        return PromptTokens.FromUtf8Length(text.Length);
    }
}

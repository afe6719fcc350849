using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary><c>POST /v1/responses</c> (OpenAI Responses API), streaming and unary.</summary>
internal static class ResponsesApi
{
    public static async Task HandleAsync(HttpContext context, SimulatedEngine engine)
    {
        GenerationJob job;
        using (var document = await OpenAiRequest.ReadJsonAsync(context.Request))
        using (var prompt = new PooledByteBuffer())
        {
            var root = document.RootElement;
            var model = OpenAiRequest.GetModel(root);
            var messageCount = 0;
            // Instructions are rendered as a system message ahead of the input.
            if (root.TryGetProperty("instructions"u8, out var instructions) && instructions.ValueKind == JsonValueKind.String)
            {
                PromptReader.AppendString(instructions, prompt);
                messageCount++;
            }

            var input = OpenAiRequest.GetRequired(root, "input");
            if (input.ValueKind == JsonValueKind.String)
            {
                PromptReader.AppendString(input, prompt);
                messageCount++;
            }
            else
            {
                messageCount += PromptReader.AppendMessages(input, "input", prompt);
            }

            var maxTokens = OpenAiRequest.GetPositiveInt(root, "max_output_tokens") ?? engine.Options.DefaultMaxTokens;
            var stream = OpenAiRequest.GetBool(root, "stream");
            var pacing = Pacing.Resolve(engine.Options, context.Request.Headers);
            job = new GenerationJob(model, engine.UnixTimeSeconds, engine.Admit(prompt.WrittenSpan, messageCount),
                maxTokens, Choices: 1, stream, StreamUsage.None, pacing);
        }

        await engine.RunAsync(context, new ResponsesWire(context.Response.BodyWriter, job), job);
    }
}

using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary><c>POST /v1/messages</c> (Anthropic Messages API), streaming and unary.</summary>
internal static class MessagesApi
{
    public static async Task HandleAsync(HttpContext context, SimulatedEngine engine)
    {
        GenerationJob job;
        using (var document = await OpenAiRequest.ReadJsonAsync(context.Request))
        using (var prompt = new PooledByteBuffer())
        {
            var root = document.RootElement;
            var model = OpenAiRequest.GetModel(root);
            // Anthropic requires max_tokens; there is no server default.
            var maxTokens = OpenAiRequest.GetPositiveInt(root, "max_tokens")
                ?? throw new BadHttpRequestException("Field 'max_tokens' is required.");
            var messageCount = 0;
            // The system prompt (a string or text blocks) is rendered as a system message ahead of the others.
            if (root.TryGetProperty("system"u8, out var system) && system.ValueKind != JsonValueKind.Null)
            {
                PromptReader.AppendContent(system, prompt);
                messageCount++;
            }

            messageCount += PromptReader.AppendMessages(OpenAiRequest.GetRequired(root, "messages"), "messages", prompt);
            var stream = OpenAiRequest.GetBool(root, "stream");
            var pacing = Pacing.Resolve(engine.Options, context.Request.Headers);
            job = new GenerationJob(model, engine.UnixTimeSeconds, engine.Admit(prompt.WrittenSpan, messageCount),
                maxTokens, Choices: 1, stream, StreamUsage.None, pacing);
        }

        await engine.RunAsync(context, new MessagesWire(context.Response.BodyWriter, job), job);
    }
}

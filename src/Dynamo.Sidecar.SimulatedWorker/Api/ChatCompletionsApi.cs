using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary><c>POST /v1/chat/completions</c>, streaming and unary.</summary>
internal static class ChatCompletionsApi
{
    public static async Task HandleAsync(HttpContext context, SimulatedEngine engine)
    {
        GenerationJob job;
        using (var document = await OpenAiRequest.ReadJsonAsync(context.Request))
        using (var prompt = new PooledByteBuffer())
        {
            var root = document.RootElement;
            // The model is checked first, so a request without one is answered as vLLM does.
            OpenAiRequest.GetModel(root);
            var messageCount = PromptReader.AppendMessages(OpenAiRequest.GetRequired(root, "messages"), "messages", prompt);
            var maxTokens = OpenAiRequest.GetPositiveInt(root, "max_completion_tokens")
                ?? OpenAiRequest.GetPositiveInt(root, "max_tokens")
                ?? engine.Options.DefaultMaxTokens;
            job = CompletionJobs.Create(context, engine, root, prompt, messageCount, maxTokens);
        }

        await engine.RunAsync(context, new ChatCompletionWire(context.Response.BodyWriter, job), job);
    }
}

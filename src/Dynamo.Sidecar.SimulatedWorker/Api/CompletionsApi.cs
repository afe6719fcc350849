using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary><c>POST /v1/completions</c> (legacy text completions), streaming and unary.</summary>
internal static class CompletionsApi
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
            PromptReader.AppendStrings(OpenAiRequest.GetRequired(root, "prompt"), "prompt", prompt);
            var maxTokens = OpenAiRequest.GetPositiveInt(root, "max_tokens") ?? engine.Options.DefaultMaxTokens;
            job = CompletionJobs.Create(context, engine, root, prompt, messageCount: 0, maxTokens);
        }

        await engine.RunAsync(context, new TextCompletionWire(context.Response.BodyWriter, job), job);
    }
}

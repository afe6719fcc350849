using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;
using Dynamo.Sidecar.SimulatedWorker.Wire;

namespace Dynamo.Sidecar.SimulatedWorker.Api;

/// <summary>What chat and text completions requests share once their prompt is read: n, stream, usage, pacing.</summary>
internal static class CompletionJobs
{
    public static GenerationJob Create(HttpContext context, SimulatedEngine engine, JsonElement root, PooledByteBuffer prompt, int messageCount, int maxTokens) =>
        new(OpenAiRequest.GetModel(root), engine.UnixTimeSeconds, engine.Admit(prompt.WrittenSpan, messageCount),
            maxTokens,
            OpenAiRequest.GetPositiveInt(root, "n") ?? 1,
            OpenAiRequest.GetBool(root, "stream"),
            OpenAiRequest.GetStreamUsage(root),
            Pacing.Resolve(engine.Options, context.Request.Headers));
}

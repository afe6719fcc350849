using Dynamo.Sidecar.SimulatedWorker.Faults;
using Dynamo.Sidecar.SimulatedWorker.Metrics;
using Dynamo.Sidecar.SimulatedWorker.Options;
using Dynamo.Sidecar.SimulatedWorker.PrefixCache;
using Dynamo.Sidecar.SimulatedWorker.Wire;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>
/// The simulated inference engine: admits prompts through the prefix cache, then paces prefill and decode
/// steps and hands each token to the API's wire format. Stops at once when the client disconnects, and cuts or
/// stalls a request that asks for it (<see cref="SimulatedFault"/>).
/// </summary>
internal sealed class SimulatedEngine(
    IOptions<WorkerOptions> options,
    PrefixCacheIndex prefixCache,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<SimulatedEngine> logger)
{
    public const string EventStreamContentType = "text/event-stream; charset=utf-8";

    // Between the last flush and a cut: the bytes already flushed reach the socket before the connection drops,
    // as they do when a real worker process dies after writing them.
    private static readonly TimeSpan CutGrace = TimeSpan.FromMilliseconds(50);

    public WorkerOptions Options => options.Value;

    public long UnixTimeSeconds => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Counts a prompt's tokens and looks it up in (and adds it to) the prefix cache.</summary>
    /// <param name="promptText">The prompt's UTF-8 text; only hashed, never kept.</param>
    /// <param name="messageCount">Chat messages in the prompt (each adds template tokens); 0 for a raw prompt.</param>
    public PromptUsage Admit(ReadOnlySpan<byte> promptText, int messageCount)
    {
        var promptTokens = PromptTokens.FromUtf8Length(promptText.Length) + (messageCount * PromptTokens.TemplateTokensPerMessage);
        var cachedTokens = prefixCache.LookupAndRecord(promptText);
        metrics.PromptAdmitted(promptTokens, cachedTokens);
        return new PromptUsage(promptTokens, cachedTokens);
    }

    public async Task RunAsync(HttpContext context, IGenerationWire wire, GenerationJob job)
    {
        var path = context.Request.Path.Value;
        var requestAborted = context.RequestAborted;
        var fault = SimulatedFault.Resolve(context.Request.Headers);
        var pacer = new TokenPacer(job.Pacing, time);
        var started = time.GetTimestamp();
        var generated = 0;
        metrics.GenerationStarted();
        Log.GenerationStarted(logger, path, job.MaxTokens, job.Choices, job.Prompt.PromptTokens, job.Prompt.CachedTokens, job.Stream);
        try
        {
            if (job.Stream)
            {
                var body = context.Response.BodyWriter;
                context.Response.ContentType = EventStreamContentType;
                await wire.WriteStreamStartAsync(requestAborted);
                // Headers go out before prefill, as with vLLM, so clients can tell time-to-headers from time-to-first-token.
                await body.FlushAsync(requestAborted);
                await pacer.WaitForStepAsync(0, requestAborted);
                await wire.WriteOutputStartAsync(requestAborted);
                for (var position = 0; position < job.MaxTokens; position++)
                {
                    if (position > 0)
                    {
                        await pacer.WaitForStepAsync(position, requestAborted);
                    }

                    var isLast = position == job.MaxTokens - 1;
                    // vLLM emits one chunk per choice per decode step, choices in index order.
                    for (var choice = 0; choice < job.Choices; choice++)
                    {
                        if (fault.FiresAt(generated))
                        {
                            await CommitAsync(context, fault, generated);
                            return;
                        }

                        requestAborted.ThrowIfCancellationRequested();
                        generated++;
                        await wire.WriteTokenAsync(choice, position, isLast, generated, requestAborted);
                    }
                }

                if (fault.FiresAt(generated))
                {
                    await CommitAsync(context, fault, generated);
                    return;
                }

                await wire.WriteStreamEndAsync(generated, requestAborted);
            }
            else
            {
                await pacer.WaitForStepAsync(job.MaxTokens - 1, requestAborted);
                if (fault.Kind is FaultKind.Cut or FaultKind.Stall && fault.Value < job.MaxTokens * job.Choices)
                {
                    // The whole answer goes out at the end: a fault before it sends nothing.
                    await CommitAsync(context, fault, generated);
                    return;
                }

                generated = job.MaxTokens * job.Choices;
                await WriteUnaryAsync(context.Response, wire, requestAborted);
            }

            metrics.RequestSucceeded();
            Log.GenerationCompleted(logger, path, generated, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (requestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The client left: like vLLM, abort the request and free its slot instead of finishing unseen work.
            metrics.RequestAborted();
            Log.GenerationAborted(logger, path, generated);
        }
        finally
        {
            metrics.GenerationFinished(job.Model, generated);
        }
    }

    /// <summary>Cuts the connection, or stalls until the client gives up (which ends in the abort path above).</summary>
    private async Task CommitAsync(HttpContext context, SimulatedFault fault, int generated)
    {
        Log.FaultCommitted(logger, context.Request.Path.Value, fault.Kind, generated);
        if (fault.Kind == FaultKind.Stall)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, time, context.RequestAborted);
            return;
        }

        metrics.RequestCut();
        await Task.Delay(CutGrace, time, context.RequestAborted);
        context.Abort();
    }

    private static async Task WriteUnaryAsync(HttpResponse response, IGenerationWire wire, CancellationToken cancellationToken)
    {
        using var body = new PooledByteBuffer();
        wire.WriteUnary(body);
        await JsonBody.WriteAsync(response, body, cancellationToken);
    }
}

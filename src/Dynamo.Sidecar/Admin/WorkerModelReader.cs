using Dynamo.Sidecar.Hosting;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// Asks a ready worker which models it serves (<c>GET /v1/models</c>) and, for models listed without
/// <c>max_model_len</c>, llama.cpp's <c>GET /props</c> for the context length. Any answer is tolerated: an error
/// status, a body that is not JSON or not of the expected shape, a timeout. Each change of what the worker
/// publishes is logged once, never the bodies.
/// </summary>
internal sealed class WorkerModelReader(ILogger<WorkerModelReader> logger)
{
    private const int MaxLoggedNames = 10;

    private string? _listing;
    private string? _contextLength;

    /// <returns>The models listed, with context lengths where published; null when the worker gives no list.</returns>
    /// <param name="worker">The destination's address, ending with '/'.</param>
    public async Task<IReadOnlyList<WorkerModel>?> ReadAsync(HttpClient client, Uri worker, CancellationToken cancellationToken)
    {
        var destination = worker.OriginalString.TrimEnd('/');
        var (body, problem) = await GetAsync(client, new Uri(worker, "v1/models"), cancellationToken);
        var models = body is null ? null : WorkerModelJson.ReadModelList(body);
        if (models is null)
        {
            problem ??= "the body is not a model list";
            if (Changed(ref _listing, "unavailable"))
            {
                Log.ModelsUnavailable(logger, destination, problem);
            }

            return null;
        }

        if (Changed(ref _listing, string.Join(", ", models.Select(m => m.Id))))
        {
            Log.ModelsListed(logger, destination, models.Count, Names(models));
        }

        var missing = models.FindAll(m => m.ContextLength is null);
        if (missing.Count == 0)
        {
            return models;
        }

        (body, problem) = await GetAsync(client, new Uri(worker, "props"), cancellationToken);
        var props = body is null ? null : WorkerModelJson.ReadProps(body);
        // llama.cpp serves one model, named by its alias; a worker that lists one model without a length means that one.
        var target = missing.Find(m => m.Id == props?.ModelAlias) ?? (missing.Count == 1 ? missing[0] : null);
        if (props is null || target is null)
        {
            if (Changed(ref _contextLength, "unavailable"))
            {
                Log.ContextLengthUnavailable(logger, destination, Names(missing), problem ?? "no n_ctx for these models");
            }

            return models;
        }

        Changed(ref _contextLength, "published");
        var index = models.IndexOf(target);
        models[index] = target with { ContextLength = props.ContextLength };
        return models;
    }

    private static async Task<(byte[]? Body, string? Problem)> GetAsync(HttpClient client, Uri target, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.GetAsync(target, cancellationToken);
            return response.IsSuccessStatusCode
                ? (await response.Content.ReadAsByteArrayAsync(cancellationToken), null)
                : (null, $"{target.AbsolutePath} answered {(int)response.StatusCode}");
        }
        catch (HttpRequestException ex)
        {
            // Connection failures, and bodies over the client's MaxResponseContentBufferSize.
            return (null, $"{target.AbsolutePath}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"{target.AbsolutePath} did not answer within {client.Timeout.TotalSeconds:0.#} s");
        }
    }

    // A worker may list hundreds of models (Ollama lists every model pulled): the log line names the first few.
    private static string Names(List<WorkerModel> models) =>
        string.Join(", ", models.Take(MaxLoggedNames).Select(m => m.Id)) + (models.Count > MaxLoggedNames ? $" and {models.Count - MaxLoggedNames} more" : "");

    private static bool Changed(ref string? state, string next)
    {
        if (state == next)
        {
            return false;
        }

        state = next;
        return true;
    }
}

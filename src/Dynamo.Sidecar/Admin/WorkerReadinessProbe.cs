using Dynamo.Sidecar.Hosting;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// Probes the worker for <c>/readyz</c> and for <see cref="ReadinessPoller"/>: ready while at least one configured
/// destination answers its readiness path with a status below 500 (vLLM and SGLang answer <c>/health</c> only once the
/// model is loaded), and not once the sidecar has begun to shut down. A ready worker's model list then sets
/// <c>model_ready</c> and <c>model_context_length</c>; a failed probe sets every model to not ready.
/// </summary>
internal sealed class WorkerReadinessProbe(
    IProxyStateLookup proxyState,
    IOptions<SidecarOptions> options,
    IHostApplicationLifetime lifetime,
    WorkerModelReader modelReader,
    ModelGauges gauges,
    ILogger<WorkerReadinessProbe> logger) : IDisposable
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    // A model list or llama.cpp's /props (chat template included) is a few KiB; more is not a worker's answer.
    private const int MaxBodyBytes = 1024 * 1024;

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        Timeout = ProbeTimeout,
        MaxResponseContentBufferSize = MaxBodyBytes,
    };

    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _lock = new();
    private readonly string _path = options.Value.ReadinessPath;
    private Probe? _current;
    private bool? _ready;

    /// <summary>
    /// Whether the worker is ready now. Callers that arrive while a probe waits on the readiness path share its answer
    /// (the worker is not probed twice at once); a caller that comes later starts a new probe. The answer comes as soon
    /// as the readiness path has answered, without waiting for the model list.
    /// </summary>
    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        Current() is { } probe ? probe.Readiness.WaitAsync(cancellationToken) : Task.FromResult(false);

    /// <summary>Runs (or joins) a probe to its end, model gauges included.</summary>
    public Task ProbeAsync(CancellationToken cancellationToken) =>
        Current() is { } probe ? probe.Completion.WaitAsync(cancellationToken) : Task.CompletedTask;

    public void Dispose()
    {
        // Cancelled, not disposed: a probe still in flight reads its token while it unwinds.
        _disposed.Cancel();
        _client.Dispose();
    }

    private Probe? Current()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Draining after SIGTERM: let Kubernetes take the pod out of the Service while streams finish. The worker
            // has not failed, so the model gauges keep their values.
            return null;
        }

        lock (_lock)
        {
            // A probe whose readiness is already known answers an older question: start a fresh one.
            if (_current is null || _current.Readiness.IsCompleted)
            {
                var readiness = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _current = new Probe(readiness.Task, RunAsync(readiness, _current?.Completion, _disposed.Token));
            }

            return _current;
        }
    }

    private bool IsLatest(Task<bool> readiness)
    {
        lock (_lock)
        {
            return ReferenceEquals(_current?.Readiness, readiness);
        }
    }

    private async Task RunAsync(TaskCompletionSource<bool> readiness, Task? previous, CancellationToken cancellationToken)
    {
        // Out of the caller's lock, and after it has recorded this probe as the latest.
        await Task.Yield();
        Uri? worker;
        try
        {
            worker = await FindReadyWorkerAsync(cancellationToken);
            readiness.SetResult(worker is not null);
        }
        catch (Exception ex)
        {
            readiness.SetException(ex);
            throw;
        }

        // The gauges are set by one probe at a time, in the order the probes started; a probe overtaken by a newer one
        // leaves them to it.
        if (previous is not null)
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (!IsLatest(readiness.Task))
        {
            return;
        }

        if (worker is null)
        {
            gauges.WorkerDown();
        }
        else if (await modelReader.ReadAsync(_client, worker, cancellationToken) is { } models)
        {
            gauges.Listed(models);
        }
    }

    private async Task<Uri?> FindReadyWorkerAsync(CancellationToken cancellationToken)
    {
        string? destination = null;
        var reason = "no worker destination is configured";
        foreach (var cluster in proxyState.GetClusters())
        {
            foreach (var candidate in cluster.Destinations.Values)
            {
                var address = candidate.Model.Config.Address;
                var worker = new Uri(address.EndsWith('/') ? address : address + "/");
                try
                {
                    using var response = await _client.GetAsync(new Uri(worker, _path.TrimStart('/')), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    if ((int)response.StatusCode < 500)
                    {
                        if (_ready != true)
                        {
                            Log.WorkerReady(logger, address);
                        }

                        _ready = true;
                        return worker;
                    }

                    reason = $"{_path} answered {(int)response.StatusCode}";
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    reason = ex is TaskCanceledException ? $"{_path} did not answer within {ProbeTimeout.TotalSeconds:0} s" : ex.Message;
                }

                destination = address;
            }
        }

        if (_ready != false)
        {
            Log.WorkerNotReady(logger, destination ?? "-", reason);
        }

        _ready = false;
        return null;
    }

    /// <param name="Readiness">Completes when the readiness path has answered.</param>
    /// <param name="Completion">Completes when the model gauges are set too.</param>
    private sealed record Probe(Task<bool> Readiness, Task Completion);
}

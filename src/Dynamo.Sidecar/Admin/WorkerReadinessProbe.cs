using Dynamo.Sidecar.Hosting;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// Answers <c>/readyz</c>: ready while at least one configured worker destination answers its
/// readiness path with a status below 500 (vLLM and SGLang answer <c>/health</c> only once the model is loaded),
/// and not once the sidecar has begun to shut down.
/// </summary>
internal sealed class WorkerReadinessProbe(
    IProxyStateLookup proxyState,
    IOptions<SidecarOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<WorkerReadinessProbe> logger) : IDisposable
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        Timeout = ProbeTimeout,
    };

    private readonly string _path = options.Value.ReadinessPath;

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Draining after SIGTERM: let Kubernetes take the pod out of the Service while streams finish.
            return false;
        }

        foreach (var cluster in proxyState.GetClusters())
        {
            foreach (var destination in cluster.Destinations.Values)
            {
                var address = destination.Model.Config.Address;
                var target = new Uri(new Uri(address.EndsWith('/') ? address : address + "/"), _path.TrimStart('/'));
                try
                {
                    using var response = await _client.GetAsync(target, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    if ((int)response.StatusCode < 500)
                    {
                        return true;
                    }

                    Log.WorkerNotReady(logger, address, $"{_path} answered {(int)response.StatusCode}");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    Log.WorkerNotReady(logger, address, ex.Message);
                }
            }
        }

        return false;
    }

    public void Dispose() => _client.Dispose();
}

using Dynamo.Sidecar.Hosting;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Admin;

/// <summary>
/// Probes the worker every <see cref="SidecarOptions.ReadinessInterval"/>, from start-up on, so that
/// <c>model_ready</c> and <c>model_context_length</c> are exported even when nobody calls <c>/readyz</c>.
/// </summary>
internal sealed class ReadinessPoller(
    WorkerReadinessProbe probe,
    IOptions<SidecarOptions> options,
    TimeProvider timeProvider,
    ILogger<ReadinessPoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ReadinessInterval;
        if (interval == TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            do
            {
                try
                {
                    await probe.ProbeAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // An unhandled exception here would stop the host: a broken probe must not take the proxy down.
                    Log.ReadinessProbeFailed(logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

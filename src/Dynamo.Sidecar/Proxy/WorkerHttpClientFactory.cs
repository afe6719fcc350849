using Yarp.ReverseProxy.Forwarder;

namespace Dynamo.Sidecar.Proxy;

/// <summary>
/// YARP's client to the worker, with one change: a response body the proxy stops reading is never
/// drained, so the connection to the worker closes the moment the client goes away (SPEC §1.7).
/// </summary>
/// <remarks>
/// When the client leaves, YARP stops copying and disposes the worker's response stream. A read from the
/// worker that the abort cancels closes the connection; but when the copier was not inside such a read
/// (about 2 % of aborts against llama-server), disposing an unfinished HTTP/1.1 body makes
/// <see cref="SocketsHttpHandler"/> read and discard the rest to reuse the connection, for up to
/// <see cref="SocketsHttpHandler.ResponseDrainTimeout"/> (2 s) or
/// <see cref="SocketsHttpHandler.MaxResponseDrainSize"/> (1 MiB). A stream still generating never ends
/// within that, so the worker kept generating for 2 s nobody would read. Draining only pays off for a body
/// that is nearly over; a new loopback connection costs far less than a worker busy for seconds.
/// This is the client's setting, so it holds whether metering is on or off.
/// </remarks>
internal sealed class WorkerHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.MaxResponseDrainSize = 0;
        handler.ResponseDrainTimeout = TimeSpan.Zero;
    }
}

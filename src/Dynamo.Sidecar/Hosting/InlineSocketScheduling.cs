using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>
/// Runs Kestrel's continuations on the socket engine's thread whenever the runtime runs socket continuations there
/// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, which <c>./run.sh</c>, the image and deploy/ set): one switch
/// for both. Each token is then read from the worker, metered and written to the client on the thread that polled it,
/// as nginx does, instead of being handed to a thread-pool thread and back per read and per write. Under 512 paced
/// streams that took 21-28% of the CPU per event and 7 MiB of idle memory off; the runtime's half alone saved about
/// 10%, Kestrel's alone nothing (docs/benchmarks.md, "Inline socket scheduling"). Only a worker writing at full speed,
/// around a million events per second with dozens per read, runs cheaper with the hand-off (11-25% less CPU per event,
/// because bytes pile up between reads); no worker pod writes that fast.
/// Safe here because nothing on the proxy path blocks: every read and write is awaited, the metrics are lock-free and
/// logging is queued (the console logger waits only when its 2,500-line queue is full, i.e. when stdout cannot take
/// the access log's lines as fast as requests end). The admin listener (<see cref="Admin.AdminServer"/>) is not configured by this: a scrape's
/// rendering runs on the thread pool and never holds up a token.
/// </summary>
internal sealed class InlineSocketScheduling : IConfigureOptions<SocketTransportOptions>
{
    public const string RuntimeSwitch = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private readonly bool _inline;

    public InlineSocketScheduling()
        : this(Environment.GetEnvironmentVariable(RuntimeSwitch))
    {
    }

    /// <param name="runtimeSwitch">The value of <see cref="RuntimeSwitch"/>; the runtime acts on exactly <c>"1"</c>.</param>
    internal InlineSocketScheduling(string? runtimeSwitch) => _inline = runtimeSwitch == "1";

    public void Configure(SocketTransportOptions options) => options.UnsafePreferInlineScheduling = _inline;
}

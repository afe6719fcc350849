using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Hosting;

/// <summary>
/// Runs Kestrel's continuations on the socket engine's thread whenever the runtime runs socket continuations there
/// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, which <c>./run.sh</c>, the image and deploy/ set): one switch
/// for both. Each token is then read from the worker, metered and written to the client on the thread that polled it,
/// as nginx does, instead of being handed to a thread-pool thread and back. Kestrel does not read the variable itself,
/// and without its half the hop stays. At a real worker's pace this saves a quarter of the CPU per event; only a worker
/// writing around a million events per second runs cheaper with the hand-off (docs/benchmarks.md, "Inline socket
/// scheduling").
/// Safe because nothing on the proxy path blocks: every read and write is awaited, the metrics are lock-free and
/// logging is queued (the console logger waits only when its 2,500-line queue is full). The admin listener
/// (<see cref="Admin.AdminServer"/>) is not configured by this: a scrape's rendering never holds up a token.
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

using System.Net;
using System.Net.Sockets;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>
/// A loopback port that was free a moment ago, for child processes that need a port on their command
/// line. Another process can take it in between, so callers retry a start that fails to bind.
/// </summary>
internal static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

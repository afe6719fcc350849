using System.Net;
using System.Net.Sockets;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// A loopback port that was free a moment ago, for servers that need a port on their command line. Another process
/// can take it in between, so callers retry a start that fails to bind.
/// </summary>
public static class FreePort
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

using System.Net;
using System.Net.Sockets;
using WireMock.Server;
using WireMock.Settings;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>A WireMock.Net worker on loopback for scripted answers; its request log shows what the sidecar sent upstream.</summary>
internal static class ScriptedWorker
{
    public static WireMockServer Start() =>
        WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{FreePort()}"] });

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

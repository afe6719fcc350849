using WireMock.Server;
using WireMock.Settings;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>A WireMock.Net worker on loopback for scripted answers; its request log shows what the sidecar sent upstream.</summary>
internal static class ScriptedWorker
{
    public static WireMockServer Start() =>
        WireMockServer.Start(new WireMockServerSettings { Urls = [$"http://127.0.0.1:{FreePort.Next()}"] });
}

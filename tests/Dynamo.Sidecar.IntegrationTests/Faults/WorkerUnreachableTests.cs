using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>A worker that refuses connections: an OpenAI-style 502 for the client, <c>unavailable</c> on the admin port.</summary>
public sealed class WorkerUnreachableTests
{
    private const string Model = "unreachable-model";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Closed_worker_port_gives_a_json_502_counted_unavailable(bool stream)
    {
        await using var sidecar = await SidecarHost.StartAsync($"http://127.0.0.1:{ClosedPort()}");
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream));

        Assert.Equal(502, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("worker_unreachable", error.GetProperty("type").GetString());
        Assert.Equal(502, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", stream ? "stream" : "unary", "unavailable");
        AssertNoDisconnect(delta);
    }

    /// <summary>A loopback port nobody listens on: bound, read, released.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

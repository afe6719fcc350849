using System.Net.Sockets;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Admin;

/// <summary>
/// The admin listener on its own address (here 127.0.0.2, as a pod IP would be; Linux routes all of 127/8
/// to the loopback interface): the proxy port forwards the admin paths to the worker, the admin port answers
/// only its three paths and never forwards, and it is not reachable on the proxy's address.
/// </summary>
public sealed class AdminSeparationTests
{
    private const string AdminAddress = "127.0.0.2";

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task The_proxy_port_forwards_admin_paths_to_the_worker(string path)
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, $"Sidecar:AdminAddress={AdminAddress}");

        var answer = await sidecar.Client.GetStringAsync(path);

        Assert.Equal($"worker {path}", answer);
        Assert.Equal(path, Assert.Single(worker.LogEntries).RequestMessage.Path);
        Assert.DoesNotContain("dynamo_frontend", answer, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/v1/models")]
    [InlineData("POST", "/v1/chat/completions")]
    [InlineData("GET", "/metrics/../v1/models")]
    public async Task The_admin_port_answers_404_for_anything_else_and_never_forwards(string method, string path)
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, $"Sidecar:AdminAddress={AdminAddress}");
        Assert.Equal(AdminAddress, sidecar.AdminAddress.Host);

        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("""{"model":"m","stream":true}""") : null };
        var response = await sidecar.AdminClient.SendAsync(request);

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Empty(worker.LogEntries);
        Assert.Contains("dynamo_frontend_", await sidecar.ScrapeTextAsync(), StringComparison.Ordinal);
        Assert.Empty(worker.LogEntries);
    }

    [Fact]
    public async Task The_admin_port_is_not_reachable_on_the_proxy_address()
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, $"Sidecar:AdminAddress={AdminAddress}");
        Assert.Equal("127.0.0.1", sidecar.ProxyAddress.Host);

        var refused = await Assert.ThrowsAsync<SocketException>(() => RawHttp.ConnectAsync(new Uri($"http://127.0.0.1:{sidecar.AdminAddress.Port}")));

        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal("ok\n", await sidecar.AdminClient.GetStringAsync("/healthz"));
    }

    private static WireMock.Server.WireMockServer StartWorker()
    {
        var worker = ScriptedWorker.Start();
        foreach (var path in (string[])["/metrics", "/healthz", "/readyz", "/health", "/v1/models", "/v1/chat/completions", "/"])
        {
            worker.Given(Request.Create().WithPath(path).UsingAnyMethod()).RespondWith(Response.Create().WithBody($"worker {path}"));
        }

        return worker;
    }
}

using System.Net.Sockets;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Admin;

/// <summary>On shutdown (SIGTERM) a stream in flight finishes whole while the sidecar reports not ready and takes no new connection.</summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task A_stream_in_flight_finishes_while_readyz_fails_and_new_connections_are_refused()
    {
        var stream = VllmStream.Chat(new Generation("m", [.. Enumerable.Range(0, 10).Select(i => $" t{i}")], PromptTokens: 3, CachedTokens: 0));
        var events = stream.Body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            foreach (var e in events)
            {
                await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(e + "\n\n"));
                await Task.Delay(100);
            }

            await exchange.SendEndAsync();
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address);
        Assert.Equal(200, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);

        var response = await sidecar.Client.SendAsync(Requests.Post("/v1/chat/completions", """{"model":"m","stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[16];
        await body.ReadExactlyAsync(first);

        var stopping = sidecar.StopAsync();

        Assert.Equal(503, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        using var newClient = new HttpClient { BaseAddress = sidecar.ProxyAddress };
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => newClient.GetAsync("/health"));
        Assert.IsType<SocketException>(refused.InnerException);

        var rest = new MemoryStream();
        await body.CopyToAsync(rest);
        Assert.Equal(stream.BodyWithoutUsage, Encoding.UTF8.GetString(first) + Encoding.UTF8.GetString(rest.ToArray()));
        await stopping;
    }
}

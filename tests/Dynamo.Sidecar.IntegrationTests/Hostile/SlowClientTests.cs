using System.Net.Sockets;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Hostile;

/// <summary>
/// Slow clients cannot hold the sidecar's resources: Kestrel's timers drop them and the meter's gauges come
/// back to 0. The production defaults (30 s for the request headers, 240 bytes/s after a 5 s grace period
/// for request and response bodies) are tightened here through <c>Kestrel:Limits</c> so each drop takes
/// seconds. The response rate is raised to 1 MiB/s: it only counts time a write is stuck, and Kestrel credits
/// every buffered byte, so at 240 bytes/s a client that stops reading with 64 KiB pending is dropped after minutes.
/// </summary>
public sealed class SlowClientTests
{
    private static readonly string[] ShortLimits =
    [
        "Kestrel:Limits:RequestHeadersTimeout=00:00:02",
        "Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond=100",
        "Kestrel:Limits:MinRequestBodyDataRate:GracePeriod=00:00:02",
        "Kestrel:Limits:MinResponseDataRate:BytesPerSecond=1048576",
        "Kestrel:Limits:MinResponseDataRate:GracePeriod=00:00:02",
    ];

    [Fact]
    public async Task Headers_sent_a_byte_at_a_time_are_dropped_at_the_headers_timeout()
    {
        using var worker = ScriptedWorker.Start();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, ShortLimits);
        using var client = await RawHttp.ConnectAsync(sidecar.ProxyAddress);

        var trickle = TrickleAsync(client, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + new string('a', 1000));
        var answer = await RawHttp.ReadUntilClosedAsync(client);

        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408 ", StringComparison.Ordinal), answer);
        Assert.True(await trickle < 1000, "the sidecar read the whole slow head");
        Assert.Empty(worker.LogEntries);
        await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
    }

    [Theory]
    // Read by the meter before anything is forwarded.
    [InlineData("application/json")]
    // Forwarded as it arrives: the worker has the head when the body stalls.
    [InlineData("text/plain")]
    public async Task A_body_sent_slowly_is_dropped_at_the_minimum_data_rate(string contentType)
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/*").UsingAnyMethod()).RespondWith(Response.Create().WithBody("worker"));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, ShortLimits);
        using var client = await RawHttp.ConnectAsync(sidecar.ProxyAddress);
        await client.SendAsync(RawHttp.Head("POST /v1/chat/completions HTTP/1.1", "Host: x", $"Content-Type: {contentType}", "Content-Length: 1000"));

        var trickle = TrickleAsync(client, "{\"model\":\"m\",\"messages\":[" + new string(' ', 1000));
        var answer = await RawHttp.ReadUntilClosedAsync(client);

        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408 ", StringComparison.Ordinal), answer);
        Assert.True(await trickle < 1000, "the sidecar read the whole slow body");
        Assert.DoesNotContain(worker.LogEntries, e => e.RequestMessage.BodyAsBytes?.Length == 1000);
        var metrics = await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        // The client was dropped by the sidecar for being too slow; it did not disconnect.
        Assert.Equal(0, metrics.Value(MetricsDelta.Prefix + "disconnected_clients"));
        Assert.Equal(0, metrics.Sum(MetricsDelta.Prefix + "requests_total", ("error_type", "cancelled")));
    }

    [Fact]
    public async Task A_client_that_never_reads_its_stream_is_dropped_and_the_worker_stops_generating()
    {
        var chunk = Encoding.UTF8.GetBytes("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + new string('x', 4000) + "\"},\"finish_reason\":null}]}\n\n");
        long sent = 0;
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            while (true)
            {
                await exchange.SendChunkAsync(chunk);
                Interlocked.Add(ref sent, chunk.Length);
            }
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, ShortLimits);
        using var client = await RawHttp.ConnectAsync(sidecar.ProxyAddress);
        client.ReceiveBufferSize = 4096;
        var body = """{"model":"m","stream":true,"messages":[]}""";
        await client.SendAsync(Encoding.ASCII.GetBytes($"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"));

        // The client reads nothing; once the socket buffers are full the response rate is 0 bytes/s.
        var exchange = await WaitForExchangeAsync(worker);
        await exchange.Aborted.WaitAsync(TimeSpan.FromSeconds(60));

        var metrics = await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        Assert.Equal(1, metrics.Value(MetricsDelta.Prefix + "requests_total",
            ("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "error"), ("error_type", "cancelled")));
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 1024, $"the worker sent {Interlocked.Read(ref sent)} bytes to a client that read none");
    }

    /// <summary>Writes one byte every 100 ms until the text ends or the server drops the connection; returns the bytes written.</summary>
    private static async Task<int> TrickleAsync(Socket client, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        for (var i = 0; i < bytes.Length; i++)
        {
            try
            {
                await client.SendAsync(bytes.AsMemory(i, 1));
            }
            catch (SocketException)
            {
                return i;
            }

            await Task.Delay(100);
        }

        return bytes.Length;
    }

    private static async Task<RawExchange> WaitForExchangeAsync(RawSocketWorker worker)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!worker.Exchanges.TryPeek(out _) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        return Assert.Single(worker.Exchanges);
    }
}

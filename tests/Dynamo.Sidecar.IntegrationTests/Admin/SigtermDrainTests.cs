using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Admin;

/// <summary>
/// SIGTERM to a real sidecar process: the proxy listener refuses new connections, streams in flight go on for
/// up to <c>Sidecar:DrainTimeout</c>, the admin listener answers throughout (readiness 503, metrics with the
/// stream in flight), the final accounting is logged, and the process exits 0. Each runs over both builds: the JIT one
/// the other tests run and the published Native AOT binary that ships.
/// </summary>
public sealed class SigtermDrainTests
{
    private const string Request = """{"model":"m","stream":true,"messages":[]}""";

    [Theory]
    [InlineData(SidecarBuild.Jit)]
    [InlineData(SidecarBuild.Published)]
    public async Task A_stream_in_flight_finishes_byte_exact_then_the_process_exits_0(SidecarBuild build)
    {
        var stream = VllmStream.Chat(new Generation("m", [.. Enumerable.Range(0, 20).Select(i => $" t{i}")], PromptTokens: 3, CachedTokens: 0));
        await using var worker = new RawSocketWorker(exchange => SendEventsAsync(exchange, stream.Body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries), TimeSpan.FromMilliseconds(150)));
        await using var sidecar = await SidecarProcess.StartAsync(build, worker.Address);
        var client = sidecar.Client;
        var admin = sidecar.AdminClient;
        var response = await client.SendAsync(Requests.Post("/v1/chat/completions", Request), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[16];
        await body.ReadExactlyAsync(first);

        await sidecar.TerminateAsync();

        await AssertProxyRefusesAsync(sidecar.ProxyAddress);
        var draining = MetricsText.Parse(await admin.GetStringAsync("/metrics"));
        Assert.Equal(1, draining.Sum("dynamo_frontend_inflight_requests"));
        Assert.Equal(1, draining.Sum("dynamo_frontend_requests_started_total"));
        Assert.Equal(0, draining.Sum("dynamo_frontend_requests_total"));
        Assert.Equal(503, (int)(await admin.GetAsync("/readyz")).StatusCode);
        Assert.Equal("ok\n", await admin.GetStringAsync("/healthz"));

        var rest = new MemoryStream();
        await body.CopyToAsync(rest);
        Assert.Equal(stream.BodyWithoutUsage, Encoding.UTF8.GetString([.. first, .. rest.ToArray()]));
        await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, sidecar.ExitCode);
        Assert.Contains("Proxy listener drained: 1 metered requests started, 1 ended, 0 in flight", sidecar.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SidecarBuild.Jit)]
    [InlineData(SidecarBuild.Published)]
    public async Task A_stream_that_outlasts_the_drain_timeout_is_cut_and_accounted_before_exit(SidecarBuild build)
    {
        var stream = VllmStream.Chat(new Generation("m", [.. Enumerable.Range(0, 600).Select(i => $" t{i}")], PromptTokens: 3, CachedTokens: 0));
        var events = stream.Body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        // 600 events 100 ms apart: a minute of stream, far longer than the 2 s drain.
        await using var worker = new RawSocketWorker(exchange => SendEventsAsync(exchange, events, TimeSpan.FromMilliseconds(100)));
        await using var sidecar = await SidecarProcess.StartAsync(build, worker.Address, "Sidecar:DrainTimeout=00:00:02");
        var client = sidecar.Client;
        var admin = sidecar.AdminClient;
        var response = await client.SendAsync(Requests.Post("/v1/chat/completions", Request), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var first = new byte[16];
        await body.ReadExactlyAsync(first);

        var clock = Stopwatch.StartNew();
        await sidecar.TerminateAsync();

        await AssertProxyRefusesAsync(sidecar.ProxyAddress);
        var draining = MetricsText.Parse(await admin.GetStringAsync("/metrics"));
        Assert.Equal(1, draining.Sum("dynamo_frontend_inflight_requests"));
        var received = new MemoryStream();
        received.Write(first);
        var cut = await Record.ExceptionAsync(() => body.CopyToAsync(received));
        await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var exitedAfter = clock.Elapsed;

        // The client's view: a stream cut short (no [DONE]), not a clean end that looks complete.
        Assert.NotNull(cut);
        var text = Encoding.UTF8.GetString(received.ToArray());
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.StartsWith(text[..text.LastIndexOf("\n\n", StringComparison.Ordinal)], stream.BodyWithoutUsage, StringComparison.Ordinal);
        // The drain lasted the configured 2 s (not less); the process did not wait for the stream's minute.
        Assert.True(exitedAfter >= TimeSpan.FromSeconds(2), $"exited {exitedAfter} after SIGTERM");
        Assert.Equal(0, sidecar.ExitCode);
        // The worker saw the upstream request aborted, so it stops generating.
        var exchange = Assert.Single(worker.Exchanges);
        await exchange.Aborted.WaitAsync(TimeSpan.FromSeconds(30));
        // The cut stream was accounted (ended, nothing in flight) before the admin listener closed and the process exited.
        Assert.Contains("Proxy listener drained: 1 metered requests started, 1 ended, 0 in flight", sidecar.Output, StringComparison.Ordinal);
    }

    private static async Task SendEventsAsync(RawExchange exchange, string[] events, TimeSpan gap)
    {
        await exchange.SendHeadAsync();
        foreach (var e in events)
        {
            await exchange.SendChunkAsync(Encoding.UTF8.GetBytes(e + "\n\n"));
            await Task.Delay(gap);
        }

        await exchange.SendEndAsync();
    }

    /// <summary>Waits until a new connection to the proxy port is refused: SIGTERM is handled asynchronously.</summary>
    private static async Task AssertProxyRefusesAsync(Uri proxy)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                using var socket = await RawHttp.ConnectAsync(proxy);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
            {
                // The listener closed with this connection still in its accept queue (the binary closes it sooner than
                // the JIT build): it is going, so try again until a connection is refused.
            }

            Assert.True(DateTime.UtcNow < deadline, "the proxy listener still accepts connections after SIGTERM");
            await Task.Delay(50);
        }
    }
}

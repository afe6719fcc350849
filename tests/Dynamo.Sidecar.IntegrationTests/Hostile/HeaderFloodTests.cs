using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Hostile;

/// <summary>
/// Header floods on the proxy listener meet Kestrel's production limits (100 headers, 32 KiB of headers,
/// an 8 KiB request line): rejected before any byte is forwarded, while the sidecar keeps serving.
/// </summary>
public sealed class HeaderFloodTests
{
    /// <summary>Flood name, request target, header lines, the status Kestrel must answer.</summary>
    public static TheoryData<string, string, string, int> Floods => new()
    {
        { "5,000 headers", "/v1/models", string.Concat(Enumerable.Range(0, 5000).Select(i => $"X-Flood-{i}: v\r\n")), 431 },
        { "one 1 MiB header", "/v1/models", $"X-Flood: {new string('a', 1024 * 1024)}\r\n", 431 },
        { "a 100 KiB request target", "/" + new string('a', 100 * 1024), "", 414 },
        { "a header without a colon", "/v1/models", "X-Flood\r\n", 400 },
    };

    [Theory]
    [MemberData(nameof(Floods))]
    public async Task A_flood_is_rejected_and_the_sidecar_stays_up(string flood, string target, string headers, int status)
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/*").UsingAnyMethod()).RespondWith(Response.Create().WithBody("worker"));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);

        var answer = await RawHttp.ExchangeAsync(sidecar.ProxyAddress, Encoding.Latin1.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n"));

        Assert.True(answer.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"{flood}: {answer}");
        Assert.Empty(worker.LogEntries);
        await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        Assert.Equal("worker", await sidecar.Client.GetStringAsync("/v1/models"));
    }

    [Fact]
    public async Task Two_hundred_concurrent_floods_leave_the_sidecar_serving()
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/*").UsingAnyMethod()).RespondWith(Response.Create().WithBody("worker"));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var flood = Encoding.Latin1.GetBytes("GET /v1/models HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, 1000).Select(i => $"X-Flood-{i}: {new string('v', 100)}\r\n")) + "\r\n");

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => RawHttp.ExchangeAsync(sidecar.ProxyAddress, flood)));

        Assert.All(answers, a => Assert.StartsWith("HTTP/1.1 431 ", a, StringComparison.Ordinal));
        Assert.Empty(worker.LogEntries);
        await Survival.AssertAdminAnswersAndIdleAsync(sidecar);
        Assert.Equal("worker", await sidecar.Client.GetStringAsync("/v1/models"));
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using static Dynamo.Sidecar.IntegrationTests.Faults.FaultMetrics;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>
/// SPEC §2's status table: a worker's error answer reaches the client exactly as sent, and is counted
/// with the error type its status maps to, for streamed and unary requests alike.
/// </summary>
public sealed class WorkerStatusTests
{
    private const string Model = "status-model";

    public static TheoryData<int, string, bool> StatusCases
    {
        get
        {
            var cases = new TheoryData<int, string, bool>();
            foreach (var (status, errorType) in new[]
            {
                (400, "validation"), (404, "not_found"), (429, "overload"), (500, "internal"),
                (501, "not_implemented"), (503, "unavailable"), (529, "overload"),
            })
            {
                cases.Add(status, errorType, true);
                cases.Add(status, errorType, false);
            }

            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(StatusCases))]
    public async Task Worker_error_reaches_the_client_unchanged_and_is_counted_by_its_status(int status, string errorType, bool stream)
    {
        var errorBody = VllmError(status);
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(errorBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(errorBody, Encoding.UTF8.GetString(body));
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", stream ? "stream" : "unary", errorType);
        AssertNoDisconnect(delta);
        Assert.Equal(0, delta.Value(OutputTokens, ("model", Model)));
        Assert.Equal(0, delta.Value(TimeToFirstTokenCount, ("model", Model)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Worker_499_is_cancelled_but_not_a_client_disconnect(bool stream)
    {
        var errorBody = VllmError(499);
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(499).WithHeader("Content-Type", "application/json").WithBody(errorBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, body) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", FaultStreams.ChatRequest(Model, stream));

        Assert.Equal(499, (int)response.StatusCode);
        Assert.Equal(errorBody, Encoding.UTF8.GetString(body));

        var delta = await WaitForEndedAsync(sidecar, before, 1, Model);
        AssertOutcome(delta, Model, "chat_completions", stream ? "stream" : "unary", "cancelled");
        AssertNoDisconnect(delta);
    }

    /// <summary>vLLM's error body, <c>{"object":"error",...}</c>.</summary>
    private static string VllmError(int status)
    {
        var type = status switch
        {
            400 => "BadRequestError",
            404 => "NotFoundError",
            429 or 529 => "RateLimitError",
            499 => "ClientClosedRequest",
            501 => "NotImplementedError",
            503 => "ServiceUnavailableError",
            _ => "InternalServerError",
        };
        return $$"""{"object":"error","message":"worker says {{status}}","type":"{{type}}","param":null,"code":{{status}}}""";
    }
}

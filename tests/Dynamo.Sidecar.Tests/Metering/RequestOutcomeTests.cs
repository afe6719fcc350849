using Dynamo.Sidecar.Metering;

namespace Dynamo.Sidecar.Tests.Metering;

public class RequestOutcomeTests
{
    [Theory]
    [InlineData(200, "success", "")]
    [InlineData(201, "success", "")]
    [InlineData(204, "success", "")]
    [InlineData(299, "success", "")]
    [InlineData(400, "error", "validation")]
    [InlineData(401, "error", "validation")]
    [InlineData(403, "error", "validation")]
    [InlineData(404, "error", "not_found")]
    [InlineData(405, "error", "validation")]
    [InlineData(413, "error", "validation")]
    [InlineData(422, "error", "validation")]
    [InlineData(429, "error", "overload")]
    [InlineData(499, "error", "cancelled")]
    [InlineData(500, "error", "internal")]
    [InlineData(501, "error", "not_implemented")]
    [InlineData(502, "error", "internal")]
    [InlineData(503, "error", "unavailable")]
    [InlineData(504, "error", "internal")]
    [InlineData(529, "error", "overload")]
    [InlineData(599, "error", "internal")]
    public void FromStatusCode_FollowsTheSpecTable(int statusCode, string status, string errorType)
    {
        var outcome = RequestOutcome.FromStatusCode(statusCode);

        Assert.Equal(status, outcome.Status);
        Assert.Equal(errorType, outcome.ErrorType);
        Assert.Equal(status == "success", outcome.IsSuccess);
    }

    [Theory]
    [InlineData(499)]
    [InlineData(200)]
    [InlineData(500)]
    public void FromStatusCode_IsNeverAClientDisconnect(int statusCode) =>
        Assert.False(RequestOutcome.FromStatusCode(statusCode).ClientDisconnected);

    [Fact]
    public void NamedOutcomes()
    {
        Assert.Equal(("success", "", false), Describe(RequestOutcome.Success));
        Assert.Equal(("error", "unavailable", false), Describe(RequestOutcome.Unavailable));
        Assert.Equal(("error", "response_timeout", false), Describe(RequestOutcome.ResponseTimeout));
        Assert.Equal(("error", "internal", false), Describe(RequestOutcome.Internal));
        Assert.Equal(("error", "cancelled", true), Describe(RequestOutcome.Disconnected));
    }

    private static (string, string, bool) Describe(RequestOutcome outcome) => (outcome.Status, outcome.ErrorType, outcome.ClientDisconnected);
}

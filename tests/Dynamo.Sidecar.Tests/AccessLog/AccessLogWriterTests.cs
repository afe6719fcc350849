using System.Text.Json;
using Dynamo.Sidecar.AccessLog;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Tests.AccessLog;

public class AccessLogWriterTests
{
    private static (JsonElement Json, LogLine Line) Write(RequestSummary summary, string? tenant, string? traceId, LogLevel minimum = LogLevel.Information)
    {
        var logs = new LogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(minimum));
        new AccessLogWriter(factory, TimeProvider.System).Write(summary, tenant, traceId);
        var line = Assert.Single(logs.Lines);
        return (JsonDocument.Parse(line.Message).RootElement.Clone(), line);
    }

    [Fact]
    public void ALabelWithQuotesAndControlCharacters_StaysOneValidJsonLine()
    {
        var summary = new RequestSummary("we\"ird\nmodel", MeteredEndpoint.Embeddings, false, 503, RequestOutcome.Unavailable, -1, 0, -1, -1, null, TimeSpan.FromMilliseconds(12.3456));

        var (json, line) = Write(summary, "t\"1", null);

        Assert.DoesNotContain('\n', line.Message);
        Assert.Equal(AccessLogWriter.Category, line.Category);
        Assert.Equal("we\"ird\nmodel", json.GetProperty("model").GetString());
        Assert.Equal("embeddings", json.GetProperty("endpoint").GetString());
        Assert.Equal("unary", json.GetProperty("request_type").GetString());
        Assert.Equal(503, json.GetProperty("http_status").GetInt32());
        Assert.Equal("unavailable", json.GetProperty("error_type").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("ttft_ms").ValueKind);
        Assert.Equal(12.346, json.GetProperty("duration_ms").GetDouble());
        Assert.Equal("t\"1", json.GetProperty("tenant").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("trace_id").ValueKind);
    }

    [Fact]
    public void NothingIsBuilt_WhenTheCategoryIsFilteredOut()
    {
        var logs = new LogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).AddFilter(AccessLogWriter.Category, LogLevel.Warning));
        var summary = new RequestSummary("m", MeteredEndpoint.ChatCompletions, true, 200, RequestOutcome.Success, 1, 1, 0, -1, TimeSpan.Zero, TimeSpan.Zero);

        new AccessLogWriter(factory, TimeProvider.System).Write(summary, null, null);

        Assert.Empty(logs.Lines);
    }
}

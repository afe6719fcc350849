using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Tests.Support;
using Prometheus;

namespace Dynamo.Sidecar.Tests.Metering;

/// <summary>What <see cref="RequestMeter.Summarize"/> hands the request-end observers, and the exemplars it records.</summary>
public class RequestSummaryTests
{
    private readonly SidecarMetrics _metrics = MeteredStream.NewMetrics();
    private readonly ManualTimeProvider _time = new();

    private RequestMeter Meter(bool isStream = true) => new(_metrics, _time, "m", MeteredEndpoint.ChatCompletions, isStream);

    [Fact]
    public void AFinishedStream_CarriesTheWorkersUsage_TtftAndDuration()
    {
        var meter = Meter();
        _time.AdvanceSeconds(0.25);
        meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = Usage.None });
        _time.AdvanceSeconds(1);
        meter.OnChunkInOwnRead(new ChunkFacts { IsUsageOnly = true, Usage = new Usage(12, 5, 3) });
        meter.Complete(RequestOutcome.Success);

        var summary = meter.Summarize(RequestOutcome.Success, 200);

        Assert.Equal(new RequestSummary("m", MeteredEndpoint.ChatCompletions, true, 200, RequestOutcome.Success, 12, 5, 3, -1, TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(1.25)), summary);
        Assert.Equal("stream", summary.RequestType);
    }

    [Fact]
    public void AStreamTheClientLeft_OutputIsTheTokensThatPassed_InputUnknown()
    {
        var meter = Meter();
        for (var i = 0; i < 4; i++)
        {
            meter.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = Usage.None });
        }

        meter.Complete(RequestOutcome.Disconnected);
        var summary = meter.Summarize(RequestOutcome.Disconnected, 200);

        Assert.Equal(4, summary.OutputTokens);
        Assert.Equal(-1, summary.InputTokens);
        Assert.Equal(-1, summary.CachedTokens);
        Assert.True(summary.Outcome.ClientDisconnected);
    }

    [Fact]
    public void AUnaryRequest_HasNoTtft()
    {
        var meter = Meter(isStream: false);
        meter.OnResponseStarted();
        meter.OnUnaryUsage(new Usage(3, 1, -1));
        meter.Complete(RequestOutcome.Success);

        var summary = meter.Summarize(RequestOutcome.Success, 200);

        Assert.Null(summary.TimeToFirstToken);
        Assert.Equal(1, summary.OutputTokens);
    }

    [Fact]
    public async Task ExemplarTraceId_IsTheExemplarOfTtftDurationAndOutputTokens_AndWithoutItThereIsNone()
    {
        var traced = Meter();
        traced.ExemplarTraceId = "0af7651916cd43dd8448eb211c80319c";
        traced.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = Usage.None });
        traced.Complete(RequestOutcome.Success);
        var untraced = Meter();
        untraced.OnChunkInOwnRead(new ChunkFacts { OutputChoices = 1, Usage = Usage.None });
        untraced.Complete(RequestOutcome.Success);

        using var exposition = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(exposition, ExpositionFormat.OpenMetricsText);
        var withExemplar = System.Text.Encoding.UTF8.GetString(exposition.ToArray()).Split('\n')
            .Where(l => l.Contains("# {trace_id=", StringComparison.Ordinal)).ToList();

        Assert.Equal(3, withExemplar.Count);
        Assert.All(withExemplar, l => Assert.Contains("trace_id=\"0af7651916cd43dd8448eb211c80319c\"", l));
        Assert.Contains(withExemplar, l => l.StartsWith("dynamo_frontend_time_to_first_token_seconds_bucket", StringComparison.Ordinal));
        Assert.Contains(withExemplar, l => l.StartsWith("dynamo_frontend_request_duration_seconds_bucket", StringComparison.Ordinal));
        Assert.Contains(withExemplar, l => l.StartsWith("dynamo_frontend_output_sequence_tokens_bucket", StringComparison.Ordinal));
    }
}

using System.Text;
using Dynamo.Sidecar.Tracing;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace Dynamo.Sidecar.Tests.Tracing;

public class OpenMetricsExpositionTests
{
    [Theory]
    [InlineData("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1", true)]
    [InlineData("Application/OpenMetrics-Text; version=0.0.1", true)]
    [InlineData("text/plain;version=0.0.4", false)]
    [InlineData("*/*", false)]
    [InlineData(null, false)]
    public void OnlyAScraperThatAsksForOpenMetricsGetsIt(string? accept, bool accepted)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(accepted, OpenMetricsExposition.IsAccepted(context.Request));
    }

    [Fact]
    public async Task TwoRegistries_AreOneExpositionWithOneEofAtTheEnd()
    {
        var first = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(first).CreateCounter("first_total", "f").Inc();
        var second = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(second).CreateGauge("second", "s").Set(2);
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;

        await OpenMetricsExposition.WriteAsync(context, first, second);

        var text = Encoding.UTF8.GetString(body.ToArray());
        Assert.Equal(OpenMetricsExposition.ContentType, context.Response.ContentType);
        Assert.Contains("first_total 1", text);
        Assert.Contains("second 2", text);
        Assert.EndsWith("\n# EOF\n", text);
        Assert.Equal(text.IndexOf("# EOF", StringComparison.Ordinal), text.LastIndexOf("# EOF", StringComparison.Ordinal));
    }
}

using Dynamo.Sidecar.Admin;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Tests.Support;
using Microsoft.Extensions.Options;

namespace Dynamo.Sidecar.Tests.Admin;

public sealed class ModelGaugesTests
{
    private readonly SidecarMetrics _metrics;
    private readonly ModelLabels _labels;
    private readonly ModelGauges _gauges;

    public ModelGaugesTests() : this(new SidecarOptions())
    {
    }

    private ModelGaugesTests(SidecarOptions options)
    {
        _metrics = new SidecarMetrics(Options.Create(options));
        _labels = new ModelLabels(Options.Create(options));
        _gauges = new ModelGauges(_metrics, _labels);
    }

    [Fact]
    public void Listed_models_are_ready_with_the_lengths_published()
    {
        _gauges.Listed([new WorkerModel("qwen3", 32768), new WorkerModel("tiny", null)]);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.Equal(1, scrape.Value("model_ready", ("model", "qwen3")));
        Assert.Equal(1, scrape.Value("model_ready", ("model", "tiny")));
        Assert.Equal(32768, scrape.Value("model_context_length", ("model", "qwen3")));
        Assert.False(scrape.Has("model_context_length", ("model", "tiny")));
    }

    [Fact]
    public void A_model_no_longer_listed_is_removed()
    {
        _gauges.Listed([new WorkerModel("a", 4096), new WorkerModel("b", 8192)]);

        _gauges.Listed([new WorkerModel("b", 8192)]);

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.False(scrape.Has("model_ready", ("model", "a")));
        Assert.False(scrape.Has("model_context_length", ("model", "a")));
        Assert.Equal(1, scrape.Value("model_ready", ("model", "b")));
        Assert.Equal(8192, scrape.Value("model_context_length", ("model", "b")));
    }

    [Fact]
    public void A_failed_probe_sets_every_model_to_0_keeping_its_length_and_a_later_listing_decides_again()
    {
        _gauges.Listed([new WorkerModel("a", 4096), new WorkerModel("b", null)]);

        _gauges.WorkerDown();
        var down = MetricsScrape.Of(_metrics.Registry);
        _gauges.Listed([new WorkerModel("a", 2048)]);
        var up = MetricsScrape.Of(_metrics.Registry);

        Assert.Equal(0, down.Value("model_ready", ("model", "a")));
        Assert.Equal(0, down.Value("model_ready", ("model", "b")));
        Assert.Equal(4096, down.Value("model_context_length", ("model", "a")));
        Assert.Equal(1, up.Value("model_ready", ("model", "a")));
        Assert.False(up.Has("model_ready", ("model", "b")));
        Assert.Equal(2048, up.Value("model_context_length", ("model", "a")));
    }

    [Fact]
    public void Listed_names_share_the_request_label_bound_and_unknown_models_are_not_exported()
    {
        var capped = new ModelGaugesTests(new SidecarOptions { Metrics = new MetricsOptions { MaxModels = 2 } });
        Assert.Equal("first", capped._labels.LabelFor("first"));

        capped._gauges.Listed([new WorkerModel("second", 1), new WorkerModel("third", 1)]);

        var scrape = MetricsScrape.Of(capped._metrics.Registry);
        Assert.Equal(1, scrape.Value("model_ready", ("model", "second")));
        Assert.False(scrape.Has("model_ready", ("model", "third")));
        Assert.False(scrape.Has("model_ready", ("model", ModelLabels.Unknown)));
        Assert.Equal(ModelLabels.Unknown, capped._labels.LabelFor("third"));
    }

    [Fact]
    public void Without_a_listing_nothing_is_exported()
    {
        _gauges.WorkerDown();

        var scrape = MetricsScrape.Of(_metrics.Registry);
        Assert.DoesNotContain(scrape.Series, s => s.StartsWith("dynamo_frontend_model_ready", StringComparison.Ordinal));
    }
}

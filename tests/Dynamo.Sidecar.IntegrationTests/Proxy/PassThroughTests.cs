using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Dynamo.Sidecar.IntegrationTests.Proxy;

/// <summary>SPEC §1.1 and §3: every path and method reaches the worker; the two listeners never mix.</summary>
public sealed class PassThroughTests : IAsyncLifetime
{
    private WireMockServer _worker = null!;
    private SidecarHost _sidecar = null!;

    public async Task InitializeAsync()
    {
        _worker = ScriptedWorker.Start();
        _worker.Given(Request.Create().WithPath("/metrics").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/plain").WithBody("vllm:num_requests_running 3\n"));
        _worker.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithHeader("X-Worker", "vllm").WithBody("""{"object":"list","data":[]}"""));
        _worker.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200));
        _worker.Given(Request.Create().WithPath("/tokenize").UsingPost())
            .RespondWith(Response.Create().WithBody(r => "echo:" + r.Body));
        _worker.Given(Request.Create().WithPath("/v1/anything").UsingDelete()).RespondWith(Response.Create().WithStatusCode(204));
        _sidecar = await SidecarHost.StartAsync(_worker.Url!);
    }

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        _worker.Stop();
    }

    [Fact]
    public async Task The_workers_own_metrics_models_and_health_pass_through()
    {
        Assert.Equal("vllm:num_requests_running 3\n", await _sidecar.Client.GetStringAsync("/metrics"));
        var models = await _sidecar.Client.GetAsync("/v1/models");
        Assert.Equal("""{"object":"list","data":[]}""", await models.Content.ReadAsStringAsync());
        Assert.Equal("vllm", models.Headers.GetValues("X-Worker").Single());
        Assert.Equal(200, (int)(await _sidecar.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Other_methods_paths_and_query_strings_pass_unchanged_and_unmetered()
    {
        var deleted = await _sidecar.Client.DeleteAsync("/v1/anything?force=true&x=%20y");
        var echoed = await _sidecar.Client.PostAsync("/tokenize", new StringContent("""{"prompt":"hi"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(204, (int)deleted.StatusCode);
        Assert.Equal("""echo:{"prompt":"hi"}""", await echoed.Content.ReadAsStringAsync());
        var delete = _worker.LogEntries.Single(e => e.RequestMessage.Method == "DELETE").RequestMessage;
        Assert.Equal("/v1/anything", delete.Path);
        Assert.Equal("true", delete.Query!["force"].Single());
        var metrics = await _sidecar.ScrapeAsync();
        Assert.Equal(0, metrics.Sum("dynamo_frontend_requests_started_total"));
    }

    [Fact]
    public async Task The_admin_listener_serves_metrics_and_health_and_never_forwards()
    {
        var metrics = await _sidecar.AdminClient.GetAsync("/metrics");
        Assert.StartsWith("text/plain; version=0.0.4", metrics.Content.Headers.ContentType!.ToString());
        Assert.Contains("# TYPE dynamo_frontend_requests_total counter", await metrics.Content.ReadAsStringAsync());
        Assert.Equal("ok\n", await _sidecar.AdminClient.GetStringAsync("/healthz"));

        var notForwarded = await _sidecar.AdminClient.GetAsync("/v1/models");

        Assert.Equal(404, (int)notForwarded.StatusCode);
        Assert.DoesNotContain(_worker.LogEntries, e => e.RequestMessage.Path == "/v1/models");
    }

    [Fact]
    public async Task Readyz_follows_the_worker_health()
    {
        Assert.Equal(200, (int)(await _sidecar.AdminClient.GetAsync("/readyz")).StatusCode);

        _worker.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(503));
        Assert.Equal(503, (int)(await _sidecar.AdminClient.GetAsync("/readyz")).StatusCode);

        _worker.Stop();
        Assert.Equal(503, (int)(await _sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        Assert.Equal(200, (int)(await _sidecar.AdminClient.GetAsync("/healthz")).StatusCode);
    }
}

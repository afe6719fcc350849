using System.Text;
using FaultStreams = Dynamo.Sidecar.IntegrationTests.Faults.FaultStreams;
using MetricsDelta = Dynamo.Sidecar.Testing.MetricsDelta;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Dynamo.Sidecar.IntegrationTests.Attribution;

/// <summary>
/// Tenant attribution on real sockets: which header or body field names the tenant, which wins, the bound on
/// the label, and <c>tenant_tokens_total</c> exact for unary requests, streams and a stream the client left.
/// </summary>
public sealed class TenantAttributionTests : IAsyncLifetime
{
    private const string Model = "tenant-model";
    private const string Unary = """{"id":"c","object":"chat.completion","model":"tenant-model","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":4}}}""";

    private WireMockServer _worker = null!;

    public Task InitializeAsync()
    {
        _worker = ScriptedWorker.Start();
        _worker.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Unary));
        _worker.Given(Request.Create().WithPath("/v1/messages").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("{}"));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _worker.Stop();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_header_names_the_tenant_of_requests_and_tokens()
    {
        await using var sidecar = await SidecarHost.StartAsync(_worker.Url!, "Sidecar:Attribution:Header=x-tenant-id");
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, Chat(), ("x-tenant-id", "team-a"));
        await SendAsync(sidecar, Chat(), ("x-tenant-id", "team-a"));
        await SendAsync(sidecar, Chat(), ("x-tenant-id", "team-b"));

        var delta = await AfterAsync(sidecar, before, 3);
        Assert.Equal(2, delta.Value("tenant_requests_total", ("tenant", "team-a"), ("model", Model), ("endpoint", "chat_completions"), ("status", "success")));
        Assert.Equal(1, delta.Value("tenant_requests_total", ("tenant", "team-b"), ("model", Model), ("endpoint", "chat_completions"), ("status", "success")));
        Assert.Equal(22, delta.Value("tenant_tokens_total", ("tenant", "team-a"), ("model", Model), ("token_type", "input")));
        Assert.Equal(14, delta.Value("tenant_tokens_total", ("tenant", "team-a"), ("model", Model), ("token_type", "output")));
        Assert.Equal(8, delta.Value("tenant_tokens_total", ("tenant", "team-a"), ("model", Model), ("token_type", "cached")));
        Assert.Equal(7, delta.Value("tenant_tokens_total", ("tenant", "team-b"), ("model", Model), ("token_type", "output")));
        // The Dynamo families keep their label sets.
        Assert.Equal(3, delta.Value("requests_total", ("model", Model), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "success"), ("error_type", "")));
    }

    [Fact]
    public async Task The_body_names_the_tenant_when_enabled_and_the_header_wins_over_it()
    {
        await using var sidecar = await SidecarHost.StartAsync(_worker.Url!, "Sidecar:Attribution:Header=x-tenant-id", "Sidecar:Attribution:FromBody=true");
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, Chat(user: "alice"));
        await SendAsync(sidecar, Chat(user: "alice"), ("x-tenant-id", "gateway-team"));
        // Anthropic's field, read on any endpoint.
        await SendAsync(sidecar, """{"model":"tenant-model","max_tokens":5,"metadata":{"user_id":"bob"},"messages":[{"role":"user","content":"hi"}]}""", path: "/v1/chat/completions");
        await SendAsync(sidecar, Chat());

        var delta = await AfterAsync(sidecar, before, 4);
        Assert.Equal(1, delta.Sum("tenant_requests_total", ("tenant", "alice")));
        Assert.Equal(1, delta.Sum("tenant_requests_total", ("tenant", "gateway-team")));
        Assert.Equal(1, delta.Sum("tenant_requests_total", ("tenant", "bob")));
        Assert.Equal(1, delta.Sum("tenant_requests_total", ("tenant", "none")));
        Assert.Equal(4, delta.Sum("tenant_requests_total"));
    }

    [Fact]
    public async Task Without_FromBody_the_body_user_is_not_a_tenant()
    {
        await using var sidecar = await SidecarHost.StartAsync(_worker.Url!, "Sidecar:Attribution:Header=x-tenant-id");
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, Chat(user: "alice"));

        var delta = await AfterAsync(sidecar, before, 1);
        Assert.Equal(1, delta.Value("tenant_requests_total", ("tenant", "none"), ("model", Model), ("endpoint", "chat_completions"), ("status", "success")));
        Assert.Equal(0, delta.Sum("tenant_requests_total", ("tenant", "alice")));
    }

    [Fact]
    public async Task Tenants_beyond_the_cap_are_other()
    {
        await using var sidecar = await SidecarHost.StartAsync(_worker.Url!, "Sidecar:Attribution:Header=x-tenant-id", "Sidecar:Attribution:MaxTenants=2");
        var before = await sidecar.ScrapeAsync();

        foreach (var tenant in new[] { "t1", "t2", "t3", "t4", "t1" })
        {
            await SendAsync(sidecar, Chat(), ("x-tenant-id", tenant));
        }

        var delta = await AfterAsync(sidecar, before, 5);
        Assert.Equal(2, delta.Sum("tenant_requests_total", ("tenant", "t1")));
        Assert.Equal(1, delta.Sum("tenant_requests_total", ("tenant", "t2")));
        Assert.Equal(2, delta.Sum("tenant_requests_total", ("tenant", "other")));
        Assert.DoesNotContain("t3", delta.After.Raw);
        Assert.DoesNotContain("t4", delta.After.Raw);
    }

    [Fact]
    public async Task The_families_do_not_exist_when_attribution_is_off()
    {
        await using var sidecar = await SidecarHost.StartAsync(_worker.Url!);
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, Chat(user: "alice"), ("x-tenant-id", "team-a"));

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        Assert.DoesNotContain("dynamo_frontend_tenant_", delta.After.Raw);
    }

    [Theory]
    [InlineData("Authorization")]
    [InlineData("x-api-key")]
    [InlineData("Cookie")]
    public async Task A_credential_header_is_refused_as_the_tenant_header_at_start(string header)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => SidecarHost.StartAsync(_worker.Url!, $"Sidecar:Attribution:Header={header}"));

        Assert.Contains("Sidecar:Attribution:Header", failure.Message);
    }

    [Fact]
    public async Task A_streamed_request_and_a_stream_the_client_left_are_counted_to_the_token()
    {
        const int tokensBeforeLeaving = 4;
        var full = VllmStream.Chat(new Generation(Model, [" a", " b", " c"], PromptTokens: 9, CachedTokens: 2));
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            if (Encoding.UTF8.GetString(exchange.Body).Contains("\"user\":\"finisher\""))
            {
                await exchange.SendChunkAsync(full.Bytes);
                await exchange.SendEndAsync();
                return;
            }

            // The leaver: a few tokens, then nothing more until the sidecar aborts the request.
            await exchange.SendTokensUntilAbortedAsync(Model, tokensBeforeLeaving);
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, "Sidecar:Attribution:FromBody=true");
        var before = await sidecar.ScrapeAsync();

        var (finished, _) = await Requests.PostAsync(sidecar.Client, "/v1/chat/completions", Chat(user: "finisher", stream: true));
        Assert.Equal(200, (int)finished.StatusCode);
        await FaultStreams.LeaveAfterTokensAsync(sidecar.ProxyAddress, Requests.Post("/v1/chat/completions", Chat(user: "leaver", stream: true)), tokensBeforeLeaving);

        var delta = await AfterAsync(sidecar, before, 2);
        Assert.Equal(9, delta.Value("tenant_tokens_total", ("tenant", "finisher"), ("model", Model), ("token_type", "input")));
        Assert.Equal(3, delta.Value("tenant_tokens_total", ("tenant", "finisher"), ("model", Model), ("token_type", "output")));
        Assert.Equal(2, delta.Value("tenant_tokens_total", ("tenant", "finisher"), ("model", Model), ("token_type", "cached")));
        Assert.Equal(1, delta.Value("tenant_requests_total", ("tenant", "leaver"), ("model", Model), ("endpoint", "chat_completions"), ("status", "error")));
        Assert.Equal(tokensBeforeLeaving, delta.Value("tenant_tokens_total", ("tenant", "leaver"), ("model", Model), ("token_type", "output")));
        Assert.Equal(0, delta.Sum("tenant_tokens_total", ("tenant", "leaver"), ("token_type", "input")));
        // The tenant books agree with the Dynamo families.
        Assert.Equal(delta.Value("output_tokens_total", ("model", Model)), delta.Sum("tenant_tokens_total", ("token_type", "output")));
    }

    /// <summary>
    /// Scrapes until <paramref name="requests"/> more requests are counted per tenant and nothing is in flight;
    /// a request's tokens are counted before the request itself.
    /// </summary>
    private static async Task<MetricsDelta> AfterAsync(SidecarHost sidecar, MetricsText before, int requests)
    {
        const string tenantRequests = "dynamo_frontend_tenant_requests_total";
        var target = before.Sum(tenantRequests) + requests;
        var after = await sidecar.ScrapeUntilAsync(m => m.Sum(tenantRequests) >= target && m.Sum("dynamo_frontend_inflight_requests") == 0);
        return new MetricsDelta(before, after);
    }

    private static string Chat(string? user = null, bool stream = false) =>
        $$"""{"model":"{{Model}}","stream":{{(stream ? "true" : "false")}},{{(user is null ? "" : $"\"user\":\"{user}\",")}}"messages":[{"role":"user","content":"hi"}]}""";

    private static async Task SendAsync(SidecarHost sidecar, string json, params (string Name, string Value)[] headers) =>
        await SendAsync(sidecar, json, "/v1/chat/completions", headers);

    private static async Task SendAsync(SidecarHost sidecar, string json, string path, params (string Name, string Value)[] headers)
    {
        var request = Requests.Post(path, json);
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        var (response, _) = await Requests.SendAsync(sidecar.Client, request);
        Assert.Equal(200, (int)response.StatusCode);
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Shapes;
using Dynamo.Sidecar.IntegrationTests.Support;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.BadInput;

/// <summary>
/// The <c>model</c> label's cardinality is bounded (SPEC §2), and whatever a client puts in <c>model</c>
/// comes out as a valid, correctly escaped Prometheus label value.
/// </summary>
public sealed class ModelLabelTests
{
    private const string Path = "/v1/chat/completions";
    private const string UnknownModel = "unknown_model";

    [Fact]
    public async Task Only_the_first_max_models_names_become_labels()
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:Metrics:MaxModels=3");
        var before = await sidecar.ScrapeAsync();

        string[] models = ["m1", "m2", "m3", "m4", "m5", "m1", "m4"];
        foreach (var model in models)
        {
            await SendAsync(sidecar, model);
        }

        var delta = await MetricsDelta.AfterAsync(sidecar, before, models.Length);
        Assert.Equal(models.Length, delta.Sum("requests_total"));
        Assert.Equal(2, Requests(delta, "m1"));
        Assert.Equal(1, Requests(delta, "m2"));
        Assert.Equal(1, Requests(delta, "m3"));
        Assert.Equal(3, Requests(delta, UnknownModel));
        Assert.Equal(3, delta.Value("input_sequence_tokens_count", ("model", UnknownModel)));
        Assert.DoesNotContain("model=\"m4\"", delta.After.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("model=\"m5\"", delta.After.Raw, StringComparison.Ordinal);
        delta.AssertIdle();
    }

    [Fact]
    public async Task An_allow_list_admits_only_its_names()
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:Metrics:Models:0=a", "Sidecar:Metrics:Models:1=b", "Sidecar:Metrics:MaxModels=1");
        var before = await sidecar.ScrapeAsync();

        string[] models = ["c", "a", "b", "A", "a ", "b"];
        foreach (var model in models)
        {
            await SendAsync(sidecar, model);
        }

        var delta = await MetricsDelta.AfterAsync(sidecar, before, models.Length);
        Assert.Equal(1, Requests(delta, "a"));
        Assert.Equal(2, Requests(delta, "b"));
        Assert.Equal(3, Requests(delta, UnknownModel));
        Assert.DoesNotContain("model=\"c\"", delta.After.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("model=\"A\"", delta.After.Raw, StringComparison.Ordinal);
        delta.AssertIdle();
    }

    [Theory]
    [InlineData("we\"ird\\na\nme", "we\\\"ird\\\\na\\nme")]
    [InlineData("org/Llama-3.1-8B-Instruct:q4_K_M", "org/Llama-3.1-8B-Instruct:q4_K_M")]
    [InlineData("ünïcödé-模型 {a=\"b\"}, c", "ünïcödé-模型 {a=\\\"b\\\"}, c")]
    [InlineData("tab\there\r", "tab\there\r")]
    [InlineData("trailing backslash\\", "trailing backslash\\\\")]
    public async Task Odd_model_names_are_exported_escaped_and_parse_back(string model, string escaped)
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, model);

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(model, "chat_completions", "unary");
        Assert.Contains($"dynamo_frontend_inflight_requests{{model=\"{escaped}\"}} 0", delta.After.Raw, StringComparison.Ordinal);
        Assert.Equal((1, 3), delta.Histogram("input_sequence_tokens", model));
        Assert.Equal(1, delta.Value("output_tokens_total", ("model", model)));
        await AssertPromtoolParsesAsync(delta.After.Raw);
    }

    [Theory]
    [InlineData("nul\\u0000byte", "nul\0byte")]
    [InlineData("esc\\u001b[31mred", "esc\u001b[31mred")]
    [InlineData("line\\u2028sep", "line\u2028sep")]
    [InlineData("lone\\ud800surrogate", null)]
    public async Task Json_escaped_control_characters_in_model_keep_metrics_parseable(string jsonModel, string? label)
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, _) = await Support.Requests.PostAsync(sidecar.Client, Path, $$"""{"model":"{{jsonModel}}","messages":[]}""");

        Assert.Equal(200, (int)response.StatusCode);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        Assert.Equal(1, delta.Sum("requests_total"));
        delta.AssertIdle();
        if (label is not null)
        {
            delta.AssertOneRequest(label, "chat_completions", "unary");
        }

        await AssertPromtoolParsesAsync(delta.After.Raw);
    }

    [Fact]
    public async Task Overlong_model_names_are_unknown_model()
    {
        using var worker = StartWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        await SendAsync(sidecar, new string('x', 10_000));

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(UnknownModel, "chat_completions", "unary");
    }

    private static double Requests(MetricsDelta delta, string model) =>
        delta.Value("requests_total", ("model", model), ("endpoint", "chat_completions"), ("request_type", "unary"), ("status", "success"), ("error_type", ""));

    private static WireMockServer StartWorker()
    {
        var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath(Path).UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(
                VllmStream.ChatUnary(new Generation("m", ["ok"], PromptTokens: 3))));
        return worker;
    }

    private static async Task SendAsync(SidecarHost sidecar, string model)
    {
        var body = JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = "hi" } } });
        var (response, _) = await Support.Requests.PostAsync(sidecar.Client, Path, body);
        Assert.Equal(200, (int)response.StatusCode);
    }

    /// <summary>Feeds the exposition to promtool (when installed) and fails on any parse error.</summary>
    private static async Task AssertPromtoolParsesAsync(string exposition)
    {
        const string promtool = "/usr/bin/promtool";
        if (!File.Exists(promtool))
        {
            return;
        }

        using var process = Process.Start(new ProcessStartInfo(promtool, "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
        })!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        // promtool also lints (naming, help text); only a failure to parse matters here.
        Assert.DoesNotContain("error while linting", output, StringComparison.Ordinal);
        Assert.DoesNotContain("parsing error", output, StringComparison.Ordinal);
    }
}

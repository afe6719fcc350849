using System.Text.Json;
using Dynamo.Sidecar.EndToEndTests.Support;

namespace Dynamo.Sidecar.EndToEndTests;

/// <summary>
/// The published Native AOT binary, what ships, as its own process on real sockets in front of the simulated worker:
/// what trimming and AOT could break and the JIT build cannot show. Settings bound by the configuration binding
/// generator, data annotations checked by <c>[OptionsValidator]</c> code, JSON console logging, the OTLP exporter.
/// </summary>
public sealed class PublishedBinaryTests(FullSpeedWorker worker) : IClassFixture<FullSpeedWorker>
{
    private const string Model = "binary-model";

    private string WorkerAddress => worker.Address;

    [Fact]
    public async Task Settings_given_on_the_command_line_take_effect()
    {
        await using var sidecar = await SidecarProcess.StartAsync(
            SidecarBuild.Published,
            WorkerAddress,
            "Sidecar:Metrics:ConstantLabels:dynamo_namespace=e2e-ns",
            "Sidecar:Attribution:Header=x-tenant-id",
            $"Sidecar:Metrics:Models:0={Model}");
        var before = await sidecar.ScrapeAsync();

        await WireEvents.PostStreamAsync(sidecar.Client, "v1/chat/completions", Chat(Model), ("x-tenant-id", "team-a"));
        await WireEvents.PostStreamAsync(sidecar.Client, "v1/chat/completions", Chat("not-on-the-list"), ("x-tenant-id", "team-b"));

        var delta = await MetricsDelta.AfterAsync(sidecar, before, requests: 2);
        var describe = delta.Describe();
        (string, string) ns = ("dynamo_namespace", "e2e-ns");
        // The constant label is on every sidecar sample, the allow-list (an array) names the models, the header the tenants.
        Assert.All(delta.After.Samples.Where(s => s.Name.StartsWith(MetricsDelta.Prefix, StringComparison.Ordinal)), s =>
            Assert.Equal("e2e-ns", s.Labels.GetValueOrDefault("dynamo_namespace")));
        Assert.True(delta.Value("requests_total", ns, ("model", Model), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")) == 1, describe);
        Assert.True(delta.Value("requests_total", ns, ("model", "unknown_model"), ("endpoint", "chat_completions"), ("request_type", "stream"), ("status", "success"), ("error_type", "")) == 1, describe);
        Assert.True(delta.Sum("tenant_requests_total", ("tenant", "team-a"), ("model", Model)) == 1, describe);
        Assert.True(delta.Sum("tenant_requests_total", ("tenant", "team-b"), ("model", "unknown_model")) == 1, describe);
        Assert.True(delta.Sum("tenant_tokens_total", ("tenant", "team-a"), ("token_type", "output")) == 16, describe);
    }

    [Theory]
    // Data annotations, checked by [OptionsValidator] generated code: of the section, of a nested one, of the second options class.
    [InlineData("Sidecar:AdminPort=70000", "AdminPort")]
    [InlineData("Sidecar:Metrics:Prefix=1st", "Sidecar:Metrics:Prefix")]
    [InlineData("Sidecar:Attribution:MaxTenants=0", "MaxTenants")]
    // The hand-written checks.
    [InlineData("Sidecar:DrainTimeout=2", "Sidecar:DrainTimeout")]
    [InlineData("Sidecar:Metrics:ConstantLabels:le=x", "Sidecar:Metrics:ConstantLabels:le")]
    // A value the binding generator's code cannot convert.
    [InlineData("Sidecar:AdminPort=ninety", "Sidecar:AdminPort")]
    public async Task A_setting_the_validators_reject_stops_the_binary_with_a_message_naming_the_key(string setting, string key)
    {
        var result = await SidecarProcess.RunUntilExitAsync(SidecarBuild.Published, WorkerAddress, setting);

        Assert.True(result.ExitCode != 0, $"the binary accepted {setting}: {result}");
        Assert.True(
            result.StandardOutput.Contains(key, StringComparison.Ordinal) || result.StandardError.Contains(key, StringComparison.Ordinal),
            $"the binary refused {setting} without naming {key}: {result}");
        Assert.DoesNotContain("Now listening on", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_access_log_is_one_json_line_per_metered_request_on_the_json_console()
    {
        await using var sidecar = await SidecarProcess.StartAsync(
            SidecarBuild.Published, WorkerAddress, "Sidecar:AccessLog=true", "Logging:Console:FormatterName=json");
        var before = await sidecar.ScrapeAsync();

        // Not metered: no line.
        Assert.Equal(200, (int)(await sidecar.Client.GetAsync("v1/models")).StatusCode);
        await WireEvents.PostStreamAsync(sidecar.Client, "v1/chat/completions", Chat(Model));
        await WireEvents.PostStreamAsync(sidecar.Client, "v1/messages", $$"""{"model":"{{Model}}","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"Hello"}]}""");
        await MetricsDelta.AfterAsync(sidecar, before, requests: 2);

        List<JsonElement> entries = [];
        await Poll.UntilAsync(
            () => (entries = AccessLogEntries(sidecar.OutputLines)).Count >= 2,
            $"two access log lines were written; the output:\n{sidecar.Output}");
        // Every line of the console is JSON, not only the access log's.
        Assert.All(sidecar.OutputLines.Where(l => l.Length > 0), l => JsonDocument.Parse(l).Dispose());
        Assert.Collection(
            entries,
            chat =>
            {
                Assert.Equal(Model, chat.GetProperty("model").GetString());
                Assert.Equal("chat_completions", chat.GetProperty("endpoint").GetString());
                Assert.Equal("stream", chat.GetProperty("request_type").GetString());
                Assert.Equal(200, chat.GetProperty("http_status").GetInt32());
                Assert.Equal("success", chat.GetProperty("status").GetString());
                Assert.Equal(16, chat.GetProperty("output_tokens").GetInt64());
                Assert.True(chat.GetProperty("ttft_ms").GetDouble() >= 0);
            },
            messages =>
            {
                Assert.Equal("anthropic_messages", messages.GetProperty("endpoint").GetString());
                Assert.Equal("success", messages.GetProperty("status").GetString());
                Assert.Equal(5, messages.GetProperty("output_tokens").GetInt64());
            });
    }

    [Fact]
    public async Task With_an_otlp_endpoint_the_binary_exports_the_span_of_a_metered_request()
    {
        const string clientTraceId = "5bf92f3577b34da6a3ce929d0e0e4737";
        const string clientSpanId = "01f067aa0ba902b8";
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(SidecarBuild.Published, WorkerAddress, receiver.SidecarEnvironment);

        await WireEvents.PostStreamAsync(sidecar.Client, "v1/chat/completions", Chat(Model), ("traceparent", $"00-{clientTraceId}-{clientSpanId}-01"));

        var spans = await receiver.WaitForTraceAsync(clientTraceId);
        var span = Assert.Single(spans);
        Assert.Equal(clientSpanId, span.ParentSpanId);
        Assert.Equal($"chat {Model}", span.Name);
        Assert.Equal("Dynamo.Sidecar", span.ScopeName);
        Assert.Equal("dynamo-sidecar", span.ResourceAttributes["service.name"]);
        Assert.Equal(Model, span.Attributes["gen_ai.request.model"]);
        Assert.Equal(16L, span.Attributes["gen_ai.usage.output_tokens"]);
        Assert.Equal(200L, span.Attributes["http.response.status_code"]);
        Assert.Equal("gen_ai.first_token", Assert.Single(span.Events).Name);
    }

    /// <summary>A streamed chat the simulated worker answers with 16 tokens.</summary>
    private static string Chat(string model) =>
        $$"""{"model":"{{model}}","stream":true,"max_tokens":16,"messages":[{"role":"user","content":"Hello from the binary test"}]}""";

    /// <summary>The access log entries among the JSON console's lines, oldest first.</summary>
    private static List<JsonElement> AccessLogEntries(IEnumerable<string> lines)
    {
        var entries = new List<JsonElement>();
        foreach (var line in lines)
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var entry = JsonDocument.Parse(line);
            if (entry.RootElement.TryGetProperty("Category", out var category) && category.GetString() == "Dynamo.Sidecar.AccessLog")
            {
                Assert.Equal(100, entry.RootElement.GetProperty("EventId").GetInt32());
                entries.Add(JsonDocument.Parse(entry.RootElement.GetProperty("Message").GetString()!).RootElement.Clone());
            }
        }

        return entries;
    }
}

using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;
using Microsoft.Extensions.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Dynamo.Sidecar.IntegrationTests.Admin;

/// <summary>
/// <c>model_ready</c> and <c>model_context_length</c> on the admin <c>/metrics</c>, set by the background readiness
/// probe from a scripted worker's <c>/health</c>, <c>/v1/models</c> and (llama.cpp) <c>/props</c>, with nobody
/// calling <c>/readyz</c>.
/// </summary>
public sealed class ModelGaugesTests
{
    private const string Interval = "Sidecar:ReadinessInterval=00:00:01";
    private const string Ready = "dynamo_frontend_model_ready";
    private const string ContextLength = "dynamo_frontend_model_context_length";
    private const string OverOneMiB = "(a model list padded past 1 MiB)";

    // vLLM's /v1/models: a base model and a LoRA adapter, each with max_model_len.
    private const string VllmModels = """
        {"object":"list","data":[{"id":"Qwen/Qwen3-8B","object":"model","created":1730000000,"owned_by":"vllm","root":"Qwen/Qwen3-8B","parent":null,"max_model_len":32768,"permission":[{"id":"modelperm-1","object":"model_permission","created":1730000000,"allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,"allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,"is_blocking":false}]},
        {"id":"sql-lora","object":"model","created":1730000000,"owned_by":"vllm","root":"/adapters/sql","parent":"Qwen/Qwen3-8B","max_model_len":32768,"permission":[]}]}
        """;

    // llama.cpp's /v1/models and /props (tools/server/server-context.cpp): the length is the slot's n_ctx on /props.
    private const string LlamaCppModels = """
        {"models":[{"name":"tiny","model":"tiny","type":"model","capabilities":["completion"]}],"object":"list","data":[{"id":"tiny","aliases":["tiny"],"tags":[],"object":"model","created":1730000000,"owned_by":"llamacpp","meta":{"vocab_type":1,"n_vocab":32000,"n_ctx":2048,"n_ctx_train":128,"n_embd":64,"n_params":4477504,"size":17928192,"ftype":0}}]}
        """;

    private const string LlamaCppProps = """
        {"default_generation_settings":{"params":{"n_predict":-1,"temperature":0.8},"n_ctx":2048},"total_slots":2,"model_alias":"tiny","model_path":"/cache/models/tiny.gguf","chat_template":"{{ messages }}","build_info":"b1-de3ff81","is_sleeping":false}
        """;

    [Fact]
    public async Task Vllm_models_are_exported_without_any_readyz_call_and_go_to_0_while_the_worker_fails()
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 200, models: VllmModels);
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, Interval);

        var up = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "Qwen/Qwen3-8B")) == 1 && m.Value(Ready, ("model", "sql-lora")) == 1);
        Assert.Equal(1, up.Value(Ready, ("model", "Qwen/Qwen3-8B")));
        Assert.Equal(1, up.Value(Ready, ("model", "sql-lora")));
        Assert.Equal(32768, up.Value(ContextLength, ("model", "Qwen/Qwen3-8B")));
        Assert.Equal(32768, up.Value(ContextLength, ("model", "sql-lora")));
        // Lengths were on /v1/models: /props is not asked.
        Assert.DoesNotContain(worker.LogEntries, e => e.RequestMessage.Path == "/props");

        Serve(worker, health: 503, models: VllmModels);
        var down = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "Qwen/Qwen3-8B")) == 0);
        Assert.Equal(0, down.Value(Ready, ("model", "Qwen/Qwen3-8B")));
        Assert.Equal(0, down.Value(Ready, ("model", "sql-lora")));
        Assert.Equal(32768, down.Value(ContextLength, ("model", "Qwen/Qwen3-8B")));
        Assert.Equal(503, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);

        Serve(worker, health: 200, models: VllmModels);
        var back = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "Qwen/Qwen3-8B")) == 1);
        Assert.Equal(1, back.Value(Ready, ("model", "sql-lora")));
    }

    [Fact]
    public async Task LlamaCpp_props_give_the_context_length_and_a_stopped_worker_sets_the_model_to_0()
    {
        var worker = ScriptedWorker.Start();
        Serve(worker, health: 200, models: LlamaCppModels, props: LlamaCppProps);
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, Interval);

        var up = await sidecar.ScrapeUntilAsync(m => m.Value(ContextLength, ("model", "tiny")) == 2048);
        Assert.Equal(1, up.Value(Ready, ("model", "tiny")));
        Assert.Equal(2048, up.Value(ContextLength, ("model", "tiny")));

        worker.Stop();
        worker.Dispose();
        var down = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "tiny")) == 0);
        Assert.Equal(0, down.Value(Ready, ("model", "tiny")));
    }

    [Fact]
    public async Task A_model_the_worker_stops_listing_is_removed_and_a_new_one_appears()
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 200, models: """{"object":"list","data":[{"id":"a","max_model_len":4096},{"id":"b","max_model_len":8192}]}""");
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, Interval);
        await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "b")) == 1);

        Serve(worker, health: 200, models: """{"object":"list","data":[{"id":"b","max_model_len":8192},{"id":"c","max_model_len":1024}]}""");
        var after = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "c")) == 1);

        Assert.False(after.TryGetValue(Ready, out _, ("model", "a")));
        Assert.False(after.TryGetValue(ContextLength, out _, ("model", "a")));
        Assert.Equal(1, after.Value(Ready, ("model", "b")));
        Assert.Equal(1024, after.Value(ContextLength, ("model", "c")));
    }

    [Fact]
    public async Task Readyz_answers_from_a_fresh_probe_which_also_sets_the_gauges_when_the_background_probe_is_off()
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 200, models: VllmModels);
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:ReadinessInterval=00:00:00");
        Assert.False((await sidecar.ScrapeAsync()).Has(Ready));
        Assert.Empty(worker.LogEntries);

        Assert.Equal(200, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        var up = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "sql-lora")) == 1);
        Assert.Equal(32768, up.Value(ContextLength, ("model", "sql-lora")));

        Serve(worker, health: 500, models: VllmModels);
        Assert.Equal(503, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        Assert.Equal(0, (await sidecar.ScrapeAsync()).Value(Ready, ("model", "sql-lora")));
    }

    [Fact]
    public async Task Readyz_answers_before_the_model_list_and_a_later_readyz_probes_again()
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 200);
        worker.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithBody(VllmModels).WithDelay(1500));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, "Sidecar:ReadinessInterval=00:00:00");

        Assert.Equal(200, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        worker.Given(Request.Create().WithPath("/health").UsingGet()).AtPriority(0).RespondWith(Response.Create().WithStatusCode(503));

        // The first probe is still waiting for /v1/models: its answer is older than this question.
        Assert.Equal(503, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        Assert.Equal(2, worker.LogEntries.Count(e => e.RequestMessage.Path == "/health"));
    }

    public static TheoryData<string, int, string, int> BadListings => new()
    {
        { "404", 404, """{"detail":"Not Found"}""", 0 },
        { "500", 500, """{"error":{"message":"boom"}}""", 0 },
        { "not JSON", 200, "<html>secret-body-text</html>", 0 },
        { "cut JSON", 200, """{"object":"list","data":[{"id":"secret-body-text" """, 0 },
        { "not a list", 200, """{"object":"list","data":{"id":"secret-body-text"}}""", 0 },
        // The body is built in the test: theory data is kept in memory for the whole run.
        { "over 1 MiB", 200, OverOneMiB, 0 },
        { "timeout", 200, VllmModels, 3000 },
    };

    [Theory]
    [MemberData(nameof(BadListings))]
    public async Task A_worker_whose_model_list_is_unusable_stays_ready_exports_no_model_and_is_logged_once(string name, int status, string body, int delayMs)
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 200);
        if (body == OverOneMiB)
        {
            body = """{"object":"list","data":[{"id":"m","pad":" """ + new string('x', 1100 * 1024) + "\"}]}";
        }

        var answer = Response.Create().WithStatusCode(status).WithBody(body);
        worker.Given(Request.Create().WithPath("/v1/models").UsingGet()).RespondWith(delayMs > 0 ? answer.WithDelay(delayMs) : answer);
        var logs = new LogCapture();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, logs, Interval);

        // Three probes: the state did not change after the first, so one line.
        await Poll.UntilAsync(() => worker.LogEntries.Count(e => e.RequestMessage.Path == "/v1/models") >= 3, $"three probes of /v1/models ({name})");

        Assert.Equal(200, (int)(await sidecar.AdminClient.GetAsync("/readyz")).StatusCode);
        Assert.False((await sidecar.ScrapeAsync()).Has(Ready));
        var unavailable = Assert.Single(logs.Lines, l => l.EventId.Name == "ModelsUnavailable");
        Assert.Equal(LogLevel.Warning, unavailable.Level);
        Assert.DoesNotContain(logs.Lines, l => l.Message.Contains("secret-body-text", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Error);
        // The proxy still forwards.
        Assert.Equal(200, (int)(await sidecar.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task A_failing_worker_is_logged_once_per_state_change()
    {
        using var worker = ScriptedWorker.Start();
        Serve(worker, health: 503);
        var logs = new LogCapture();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, logs, Interval);
        await Poll.UntilAsync(() => worker.LogEntries.Count(e => e.RequestMessage.Path == "/health") >= 3, "three failed probes");

        Serve(worker, health: 200, models: VllmModels);
        await Poll.UntilAsync(() => worker.LogEntries.Count(e => e.RequestMessage.Path == "/v1/models") >= 3, "three probes of a ready worker");

        Assert.Equal(
            ["WorkerNotReady", "WorkerReady", "ModelsListed"],
            logs.Lines.Where(l => l.Category.StartsWith("Dynamo.Sidecar.Admin.Worker", StringComparison.Ordinal)).Select(l => l.EventId.Name));
        var notReady = Assert.Single(logs.Lines, l => l.EventId.Name == "WorkerNotReady").Message;
        // The reason is the first failure's: on a loaded machine WireMock's first answer may take longer than the probe waits.
        Assert.StartsWith($"Worker {worker.Url} is not ready: ", notReady, StringComparison.Ordinal);
        Assert.Contains("2 models on /v1/models: Qwen/Qwen3-8B, sql-lora", Assert.Single(logs.Lines, l => l.EventId.Name == "ModelsListed").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_without_lengths_or_props_exports_readiness_only()
    {
        using var worker = ScriptedWorker.Start();
        // TensorRT-LLM's ModelCard: no max_model_len, and no /props (WireMock answers 404).
        Serve(worker, health: 200, models: """{"object":"list","data":[{"id":"llama-3","object":"model","created":1,"owned_by":"tensorrt_llm"}]}""");
        var logs = new LogCapture();
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!, logs, Interval);

        await Poll.UntilAsync(() => worker.LogEntries.Count(e => e.RequestMessage.Path == "/props") >= 2, "two probes of /props");
        var metrics = await sidecar.ScrapeUntilAsync(m => m.Value(Ready, ("model", "llama-3")) == 1);

        Assert.Equal(1, metrics.Value(Ready, ("model", "llama-3")));
        Assert.False(metrics.Has(ContextLength));
        Assert.Contains("/props answered 404", Assert.Single(logs.Lines, l => l.EventId.Name == "ContextLengthUnavailable").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_while_a_background_probe_waits_on_the_worker_is_clean()
    {
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(1500));
        var logs = new LogCapture();
        var sidecar = await SidecarHost.StartAsync(worker.Url!, logs, Interval);
        // The first probe has ended; the next one starts at once (its tick is overdue) and waits on /health.
        await Poll.UntilAsync(() => logs.Lines.Any(l => l.EventId.Name == "WorkerReady"), "a first probe");

        await sidecar.DisposeAsync();

        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Error);
    }

    private static void Serve(WireMockServer worker, int health, string? models = null, string? props = null)
    {
        worker.ResetMappings();
        worker.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(health));
        if (models is not null)
        {
            worker.Given(Request.Create().WithPath("/v1/models").UsingGet())
                .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Encoding.UTF8.GetBytes(models)));
        }

        if (props is not null)
        {
            worker.Given(Request.Create().WithPath("/props").UsingGet())
                .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Encoding.UTF8.GetBytes(props)));
        }
    }
}

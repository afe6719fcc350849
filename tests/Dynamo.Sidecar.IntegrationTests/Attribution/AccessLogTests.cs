using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.Testing.Workers;
using FaultStreams = Dynamo.Sidecar.IntegrationTests.Faults.FaultStreams;

namespace Dynamo.Sidecar.IntegrationTests.Attribution;

/// <summary>
/// <c>Sidecar:AccessLog</c>: one JSON line per metered request, when it ends, in its own logging category; never
/// the prompt, the completion, a header or a key.
/// </summary>
public sealed class AccessLogTests
{
    private const string Category = "Dynamo.Sidecar.AccessLog";
    private const string Model = "logged-model";
    private const string Prompt = "PURPLE-ELEPHANT-PROMPT-7731";
    private const string Completion = "ZEBRA-COMPLETION-4410";
    private const string Key = "sk-SECRET-KEY-9f8e7d6c5b4a";
    private const string TraceId = "0af7651916cd43dd8448eb211c80319c";

    private static readonly WorkerStream Stream = VllmStream.Chat(new Generation(Model, [Completion, " two"], PromptTokens: 13, CachedTokens: 5));

    [Fact]
    public async Task One_line_per_request_with_its_figures_and_never_the_prompt_completion_or_key()
    {
        var logs = new LogCapture();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, logs, "Sidecar:AccessLog=true", "Sidecar:Attribution:Header=x-tenant-id");

        // Unmetered: no line.
        await TracingTests.SendAsync(sidecar, "/tokenize", ChatRequest(), $"Authorization: Bearer {Key}");
        var answer = await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest(),
            $"Authorization: Bearer {Key}", "x-tenant-id: team-a", $"traceparent: 00-{TraceId}-00f067aa0ba902b7-01", $"x-prompt-echo: {Prompt}");
        Assert.Contains(Completion, answer);

        var entry = await SingleEntryAsync(logs);
        var json = entry.RootElement;
        Assert.True(DateTimeOffset.TryParse(json.GetProperty("time").GetString(), out _));
        Assert.Equal(Model, json.GetProperty("model").GetString());
        Assert.Equal("chat_completions", json.GetProperty("endpoint").GetString());
        Assert.Equal("stream", json.GetProperty("request_type").GetString());
        Assert.Equal(200, json.GetProperty("http_status").GetInt32());
        Assert.Equal("success", json.GetProperty("status").GetString());
        Assert.Equal("", json.GetProperty("error_type").GetString());
        Assert.Equal(13, json.GetProperty("input_tokens").GetInt64());
        Assert.Equal(2, json.GetProperty("output_tokens").GetInt64());
        Assert.Equal(5, json.GetProperty("cached_tokens").GetInt64());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("reasoning_tokens").ValueKind);
        Assert.True(json.GetProperty("ttft_ms").GetDouble() >= 0);
        Assert.True(json.GetProperty("duration_ms").GetDouble() >= json.GetProperty("ttft_ms").GetDouble());
        Assert.Equal("team-a", json.GetProperty("tenant").GetString());
        Assert.Equal(TraceId, json.GetProperty("trace_id").GetString());
        Assert.False(json.GetProperty("client_disconnected").GetBoolean());

        var everything = string.Join('\n', logs.Lines.Select(l => $"{l.Category} {l.EventId} {l.Message} {l.Exception}"));
        Assert.DoesNotContain(Prompt, everything);
        Assert.DoesNotContain(Completion, everything);
        Assert.DoesNotContain(Key, everything);
        Assert.DoesNotContain("Bearer", everything);
    }

    [Fact]
    public async Task A_client_that_left_is_logged_with_the_tokens_that_passed()
    {
        const int tokensBeforeLeaving = 3;
        var logs = new LogCapture();
        await using var worker = new RawSocketWorker(async exchange =>
        {
            await exchange.SendHeadAsync();
            await exchange.SendTokensUntilAbortedAsync(Model, tokensBeforeLeaving);
        });
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, logs, "Sidecar:AccessLog=true");

        await FaultStreams.LeaveAfterTokensAsync(sidecar.ProxyAddress, Requests.Post("/v1/chat/completions", ChatRequest()), tokensBeforeLeaving);

        var json = (await SingleEntryAsync(logs)).RootElement;
        Assert.Equal("error", json.GetProperty("status").GetString());
        Assert.Equal("cancelled", json.GetProperty("error_type").GetString());
        Assert.True(json.GetProperty("client_disconnected").GetBoolean());
        Assert.Equal(tokensBeforeLeaving, json.GetProperty("output_tokens").GetInt64());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("input_tokens").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("tenant").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("trace_id").ValueKind);
    }

    [Fact]
    public async Task Nothing_is_written_when_off_the_default()
    {
        var logs = new LogCapture();
        await using var worker = StreamingWorker();
        await using var sidecar = await SidecarHost.StartAsync(worker.Address, logs);

        await TracingTests.SendAsync(sidecar, "/v1/chat/completions", ChatRequest());
        await sidecar.ScrapeUntilAsync(m => m.Sum("dynamo_frontend_requests_total") == 1);

        Assert.DoesNotContain(logs.Lines, l => l.Category == Category);
    }

    private static async Task<JsonDocument> SingleEntryAsync(LogCapture logs)
    {
        // Written when the request ends, just after the client has its last byte.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Lines.Any(l => l.Category == Category) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var line = Assert.Single(logs.Lines, l => l.Category == Category);
        Assert.Equal("AccessLog", line.EventId.Name);
        Assert.DoesNotContain('\n', line.Message);
        return JsonDocument.Parse(line.Message);
    }

    private static RawSocketWorker StreamingWorker() => new(async exchange =>
    {
        await exchange.SendHeadAsync();
        await exchange.SendChunkAsync(Stream.Bytes);
        await exchange.SendEndAsync();
    });

    private static string ChatRequest() =>
        $$"""{"model":"{{Model}}","stream":true,"messages":[{"role":"user","content":"{{Prompt}}"}]}""";
}

using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

/// <summary><c>POST /v1/messages</c>: the Anthropic Messages API, streamed and unary, in Anthropic's own bytes.</summary>
[Collection(SimulatedWorkerCollection.Name)]
public sealed class MessagesTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Stream_sends_anthropic_events_in_order_with_usage_on_start_and_delta()
    {
        var (raw, events) = await worker.PostStreamAsync("/v1/messages", """
            {"model":"claude-sim","system":"Be brief","messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}],
             "max_tokens":3,"stream":true}
            """);

        Assert.Equal(
            [
                "message_start", "content_block_start",
                "content_block_delta", "content_block_delta", "content_block_delta",
                "content_block_stop", "message_delta", "message_stop",
            ],
            events.Select(e => e.EventType));
        Assert.StartsWith("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{", raw, StringComparison.Ordinal);
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", raw, StringComparison.Ordinal);
        foreach (var item in events)
        {
            Assert.Equal(item.EventType, JsonDocument.Parse(item.Data).RootElement.GetProperty("type").GetString());
        }

        var message = JsonDocument.Parse(events[0].Data).RootElement.GetProperty("message");
        var id = message.GetProperty("id").GetString()!;
        Assert.StartsWith("msg_", id, StringComparison.Ordinal);
        // "Be brief" and "Hello" are 2 tokens each, plus 4 template tokens for each of the two messages; nothing cached.
        Assert.Equal(
            $$$"""{"id":"{{{id}}}","type":"message","role":"assistant","model":"claude-sim","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}""",
            message.GetRawText());
        Assert.Equal("""{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""", events[1].Data);
        Assert.Equal("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" The"}}""", events[2].Data);
        Assert.Equal("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" quick"}}""", events[3].Data);
        Assert.Equal("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" brown"}}""", events[4].Data);
        Assert.Equal("""{"type":"content_block_stop","index":0}""", events[5].Data);
        Assert.Equal(
            """{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":3}}""",
            events[6].Data);
    }

    [Fact]
    public async Task Unary_message_has_the_messages_api_shape()
    {
        var body = await worker.PostUnaryAsync("/v1/messages", """
            {"model":"claude-sim","system":[{"type":"text","text":"Be brief"}],"messages":[{"role":"user","content":"Hello"}],"max_tokens":3}
            """);

        var id = body.GetProperty("id").GetString()!;
        Assert.StartsWith("msg_", id, StringComparison.Ordinal);
        Assert.Equal(
            $$$"""{"id":"{{{id}}}","type":"message","role":"assistant","model":"claude-sim","content":[{"type":"text","text":" The quick brown"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}""",
            body.GetRawText());
    }

    [Fact]
    public async Task A_repeated_prompt_reports_its_cached_blocks_as_cache_reads_outside_input_tokens()
    {
        // 32 (unique) + 118 = 150 bytes = 38 tokens, + 4 template tokens: two full 16-token blocks are cached.
        var prompt = Guid.NewGuid().ToString("N") + new string('x', 118);
        var request = $$"""{"model":"claude-sim","messages":[{"role":"user","content":"{{prompt}}"}],"max_tokens":2,"stream":true}""";

        var (_, first) = await worker.PostStreamAsync("/v1/messages", request);
        var (_, second) = await worker.PostStreamAsync("/v1/messages", request);

        Assert.Equal(
            """{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}""",
            StartUsage(first));
        Assert.Equal(
            """{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":32,"output_tokens":1}""",
            StartUsage(second));
    }

    [Fact]
    public async Task A_rejected_request_gets_an_anthropic_error_body()
    {
        using var response = await worker.PostAsync("/v1/messages", """{"model":"claude-sim","messages":[{"role":"user","content":"Hi"}]}""");

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(
            """{"type":"error","error":{"type":"invalid_request_error","message":"Field 'max_tokens' is required."}}""",
            await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(529, "overloaded_error")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    public async Task Status_fault_answers_an_anthropic_error(int status, string type)
    {
        using var response = await worker.PostAsync("/v1/messages",
            """{"model":"claude-sim","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"stream":true}""",
            ("x-sim-fault", $"status={status}"));

        Assert.Equal(status, (int)response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal(type, error.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Cut_fault_ends_the_stream_without_message_stop()
    {
        using var response = await worker.PostAsync("/v1/messages",
            """{"model":"claude-sim-cut","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"stream":true}""",
            ("x-sim-fault", "cut-after=2"));
        Assert.Equal(200, (int)response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();

        var types = new List<string>();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync())
            {
                types.Add(item.EventType);
            }
        });

        Assert.True(error is HttpRequestException or IOException, error.ToString());
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_delta"], types);
    }

    private static string StartUsage(List<SseItem<string>> events) =>
        JsonDocument.Parse(events[0].Data).RootElement.GetProperty("message").GetProperty("usage").GetRawText();
}

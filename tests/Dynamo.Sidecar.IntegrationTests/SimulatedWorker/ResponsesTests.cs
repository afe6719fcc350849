using System.Text.Json;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

[Collection(SimulatedWorkerCollection.Name)]
public sealed class ResponsesTests(SimulatedWorkerFixture worker)
{
    [Fact]
    public async Task Stream_sends_named_events_in_order_and_usage_on_completed()
    {
        var (raw, events) = await worker.PostStreamAsync("/v1/responses", """
            {"model":"resp-model","input":[{"role":"user","content":[{"type":"input_text","text":"Hello"}]}],
             "max_output_tokens":2,"stream":true}
            """);

        Assert.Equal(
            [
                "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed",
            ],
            events.Select(e => e.EventType));
        Assert.StartsWith("event: response.created\ndata: {\"type\":\"response.created\",", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", raw, StringComparison.Ordinal);

        var payloads = events.Select(e => JsonDocument.Parse(e.Data).RootElement.Clone()).ToList();
        for (var i = 0; i < payloads.Count; i++)
        {
            Assert.Equal(events[i].EventType, payloads[i].GetProperty("type").GetString());
            Assert.Equal(i, payloads[i].GetProperty("sequence_number").GetInt32());
        }

        var itemId = payloads[2].GetProperty("item").GetProperty("id").GetString()!;
        Assert.StartsWith("msg_", itemId, StringComparison.Ordinal);
        Assert.Equal(
            $$"""{"type":"response.output_text.delta","item_id":"{{itemId}}","output_index":0,"content_index":0,"delta":" quick","sequence_number":5}""",
            events[5].Data);
        Assert.Equal(" The quick", payloads[6].GetProperty("text").GetString());

        var response = payloads[^1].GetProperty("response");
        Assert.Equal("completed", response.GetProperty("status").GetString());
        Assert.Equal("resp-model", response.GetProperty("model").GetString());
        Assert.Equal(payloads[0].GetProperty("response").GetProperty("id").GetString(), response.GetProperty("id").GetString());
        // "Hello" is 2 tokens, plus 4 template tokens for the one message.
        Assert.Equal(
            """{"input_tokens":6,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":8}""",
            response.GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task Unary_response_has_responses_api_shape()
    {
        var body = await worker.PostUnaryAsync("/v1/responses", """{"model":"resp-model","input":"Hello","max_output_tokens":3}""");

        var id = body.GetProperty("id").GetString()!;
        Assert.StartsWith("resp_", id, StringComparison.Ordinal);
        var created = body.GetProperty("created_at").GetInt64();
        var messageId = body.GetProperty("output")[0].GetProperty("id").GetString()!;
        Assert.Equal(
            $$$"""{"id":"{{{id}}}","object":"response","created_at":{{{created}}},"model":"resp-model","status":"completed","output":[{"type":"message","id":"{{{messageId}}}","status":"completed","role":"assistant","content":[{"type":"output_text","text":" The quick brown","annotations":[]}]}],"usage":{"input_tokens":6,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":9}}""",
            body.GetRawText());
    }
}

using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.IntegrationTests.Support;
using Dynamo.Sidecar.SimulatedWorker;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// <c>POST /v1/responses</c>, unary and streamed: never rewritten (the API always reports usage),
/// the stream reaches the client untouched, and tokens come from <c>response.usage</c>.
/// </summary>
public sealed class ResponsesApiTests
{
    private const string Model = "gpt-oss-20b";
    private const string Usage = """{"input_tokens":12,"input_tokens_details":{"cached_tokens":8},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":16}""";
    private static readonly string[] Deltas = [" The", " sky", " is", " blue"];

    [Fact]
    public async Task Unary_response_is_untouched_and_tokens_come_from_usage()
    {
        var workerBody = $$"""{"id":"resp_1","object":"response","created_at":1730000000,"model":"{{Model}}","status":"completed","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"The sky is blue","annotations":[]}]}],"usage":{{Usage}}}""";
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/responses").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(workerBody));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();
        var requestBody = $$"""{"model":"{{Model}}","input":"Why is the sky blue?","max_output_tokens":4}""";

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/responses", requestBody);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(workerBody), received);
        Assert.Equal(Encoding.UTF8.GetBytes(requestBody), worker.LogEntries.Single().RequestMessage.BodyAsBytes);
        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "responses", "unary");
        Assert.Equal((1, 12), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, 8), delta.Histogram("cached_sequence_length", Model));
        Assert.Equal((1, 4), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal(4, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal(0, delta.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.Equal(0, delta.Value("inter_token_latency_seconds_count", ("model", Model)));
    }

    [Theory]
    [InlineData("""{"model":"gpt-oss-20b","input":"Why is the sky blue?","stream":true}""")]
    // Even stream_options with include_usage false is left alone: responses always report usage.
    [InlineData("""{ "model" : "gpt-oss-20b", "stream" : true, "stream_options" : { "include_usage" : false }, "input" : [ {"role":"user","content":"Why?"} ] }""")]
    public async Task Stream_request_is_not_rewritten_and_stream_reaches_the_client_untouched(string requestBody)
    {
        var stream = ResponsesStream();
        using var worker = ScriptedWorker.Start();
        worker.Given(Request.Create().WithPath("/v1/responses").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "text/event-stream; charset=utf-8").WithBody(stream));
        await using var sidecar = await SidecarHost.StartAsync(worker.Url!);
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/responses", requestBody);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal(stream, Encoding.UTF8.GetString(received));
        var upstream = worker.LogEntries.Single().RequestMessage;
        Assert.Equal(Encoding.UTF8.GetBytes(requestBody), upstream.BodyAsBytes);
        Assert.Equal(Encoding.UTF8.GetByteCount(requestBody).ToString(), upstream.Headers!.Single(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value.Single());

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        delta.AssertOneRequest(Model, "responses", "stream");
        Assert.Equal(4, delta.Value("output_tokens_total", ("model", Model)));
        Assert.Equal((1, 4), delta.Histogram("output_sequence_tokens", Model));
        Assert.Equal((1, 12), delta.Histogram("input_sequence_tokens", Model));
        Assert.Equal((1, 8), delta.Histogram("cached_sequence_length", Model));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", ("model", Model)));
        Assert.Equal(Deltas.Length - 1, delta.Value("inter_token_latency_seconds_count", ("model", Model)));
    }

    [Fact]
    public async Task Simulated_worker_stream_is_metered_from_its_own_usage()
    {
        await using var simulated = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=0"]);
        await simulated.StartAsync();
        await using var sidecar = await SidecarHost.StartAsync(simulated.Urls.First());
        var before = await sidecar.ScrapeAsync();

        var (response, received) = await Requests.PostAsync(sidecar.Client, "/v1/responses", """
            {"model":"resp-model","input":[{"role":"user","content":[{"type":"input_text","text":"Tell me about the sky"}]}],
             "max_output_tokens":9,"stream":true}
            """);

        Assert.Equal(200, (int)response.StatusCode);
        var events = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(new MemoryStream(received)).EnumerateAsync())
        {
            events.Add(item);
        }

        Assert.Equal("response.created", events[0].EventType);
        Assert.Equal("response.completed", events[^1].EventType);
        var deltas = events.Count(e => e.EventType == "response.output_text.delta");
        var usage = JsonDocument.Parse(events[^1].Data).RootElement.GetProperty("response").GetProperty("usage");
        var outputTokens = usage.GetProperty("output_tokens").GetInt32();
        Assert.Equal(9, outputTokens);
        Assert.Equal(outputTokens, deltas);

        var delta = await MetricsDelta.AfterAsync(sidecar, before);
        const string model = "resp-model";
        delta.AssertOneRequest(model, "responses", "stream");
        Assert.Equal(outputTokens, delta.Value("output_tokens_total", ("model", model)));
        Assert.Equal((1, outputTokens), delta.Histogram("output_sequence_tokens", model));
        Assert.Equal((1, usage.GetProperty("input_tokens").GetInt32()), delta.Histogram("input_sequence_tokens", model));
        Assert.Equal((1, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32()), delta.Histogram("cached_sequence_length", model));
        Assert.Equal(1, delta.Value("time_to_first_token_seconds_count", ("model", model)));
        Assert.Equal(deltas - 1, delta.Value("inter_token_latency_seconds_count", ("model", model)));
    }

    /// <summary>A Responses API stream as OpenAI and vLLM write it: named events, one token per text delta.</summary>
    private static string ResponsesStream()
    {
        var sb = new StringBuilder();
        var sequence = 0;
        void Event(string type, object payload)
        {
            var members = JsonSerializer.Serialize(payload)[1..];
            sb.Append($"event: {type}\ndata: {{\"type\":\"{type}\",\"sequence_number\":{sequence++},{members}\n\n");
        }

        var inProgress = new { id = "resp_1", @object = "response", created_at = 1730000000, status = "in_progress", model = Model, output = Array.Empty<object>(), usage = (object?)null };
        Event("response.created", new { response = inProgress });
        Event("response.in_progress", new { response = inProgress });
        Event("response.output_item.added", new { output_index = 0, item = new { type = "message", id = "msg_1", status = "in_progress", role = "assistant", content = Array.Empty<object>() } });
        Event("response.content_part.added", new { item_id = "msg_1", output_index = 0, content_index = 0, part = new { type = "output_text", text = "", annotations = Array.Empty<object>() } });
        foreach (var token in Deltas)
        {
            Event("response.output_text.delta", new { item_id = "msg_1", output_index = 0, content_index = 0, delta = token, logprobs = Array.Empty<object>() });
        }

        var text = string.Concat(Deltas);
        Event("response.output_text.done", new { item_id = "msg_1", output_index = 0, content_index = 0, text, logprobs = Array.Empty<object>() });
        var part = new { type = "output_text", text, annotations = Array.Empty<object>() };
        Event("response.content_part.done", new { item_id = "msg_1", output_index = 0, content_index = 0, part });
        var item = new { type = "message", id = "msg_1", status = "completed", role = "assistant", content = new[] { part } };
        Event("response.output_item.done", new { output_index = 0, item });
        Event("response.completed", new
        {
            response = new { id = "resp_1", @object = "response", created_at = 1730000000, status = "completed", model = Model, output = new[] { item }, usage = JsonDocument.Parse(Usage).RootElement },
        });
        return sb.ToString();
    }
}

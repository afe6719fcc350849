using System.Net;
using System.Text;
using Dynamo.Sidecar.Admin;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Tests.Admin;

/// <summary>Which model llama.cpp's <c>/props</c> length is given to, and what is logged, against canned answers.</summary>
public sealed class WorkerModelReaderTests
{
    private static readonly Uri Worker = new("http://worker:8000/");

    [Fact]
    public async Task Props_are_not_asked_when_every_model_has_its_max_model_len()
    {
        var answers = new Answers { ["/v1/models"] = """{"data":[{"id":"a","max_model_len":10}]}""" };

        var models = await ReadAsync(answers);

        Assert.Equal([new WorkerModel("a", 10)], models);
        Assert.Equal(["/v1/models"], answers.Asked);
    }

    [Fact]
    public async Task The_props_length_goes_to_the_model_named_by_its_alias()
    {
        var answers = new Answers
        {
            ["/v1/models"] = """{"data":[{"id":"a"},{"id":"tiny"},{"id":"b","max_model_len":7}]}""",
            ["/props"] = """{"default_generation_settings":{"n_ctx":2048},"model_alias":"tiny"}""",
        };

        var models = await ReadAsync(answers);

        Assert.Equal([new WorkerModel("a", null), new WorkerModel("tiny", 2048), new WorkerModel("b", 7)], models);
    }

    [Fact]
    public async Task The_props_length_goes_to_the_only_model_without_one_whatever_the_alias()
    {
        var answers = new Answers
        {
            ["/v1/models"] = """{"data":[{"id":"/models/qwen.gguf"}]}""",
            ["/props"] = """{"default_generation_settings":{"n_ctx":4096},"model_alias":"qwen"}""",
        };

        Assert.Equal([new WorkerModel("/models/qwen.gguf", 4096)], await ReadAsync(answers));
    }

    [Fact]
    public async Task With_several_models_without_length_and_no_alias_match_nobody_gets_the_props_length()
    {
        var logs = new LogCapture();
        var answers = new Answers
        {
            ["/v1/models"] = """{"data":[{"id":"a"},{"id":"b"}]}""",
            ["/props"] = """{"default_generation_settings":{"n_ctx":4096},"model_alias":"llama-server"}""",
        };

        Assert.Equal([new WorkerModel("a", null), new WorkerModel("b", null)], await ReadAsync(answers, logs));
        Assert.Contains("publishes no context length for a, b", Assert.Single(logs.Lines, l => l.EventId.Name == "ContextLengthUnavailable").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_long_list_is_logged_once_with_its_first_ten_names()
    {
        var logs = new LogCapture();
        var reader = new WorkerModelReader(new LoggerFactory([logs]).CreateLogger<WorkerModelReader>());
        var ids = Enumerable.Range(1, 25).Select(i => $$"""{"id":"m{{i}}","max_model_len":8}""");
        var answers = new Answers { ["/v1/models"] = $$"""{"data":[{{string.Join(",", ids)}}]}""" };
        using var client = new HttpClient(answers);

        await reader.ReadAsync(client, Worker, CancellationToken.None);
        await reader.ReadAsync(client, Worker, CancellationToken.None);

        var line = Assert.Single(logs.Lines, l => l.EventId.Name == "ModelsListed").Message;
        Assert.EndsWith("lists 25 models on /v1/models: m1, m2, m3, m4, m5, m6, m7, m8, m9, m10 and 15 more", line, StringComparison.Ordinal);
    }

    private static async Task<IReadOnlyList<WorkerModel>?> ReadAsync(Answers answers, LogCapture? logs = null)
    {
        using var client = new HttpClient(answers);
        var reader = new WorkerModelReader(new LoggerFactory([logs ?? new LogCapture()]).CreateLogger<WorkerModelReader>());
        return await reader.ReadAsync(client, Worker, CancellationToken.None);
    }

    /// <summary>A worker that answers each path with its canned JSON, and 404 elsewhere.</summary>
    private sealed class Answers : HttpMessageHandler
    {
        private readonly Dictionary<string, string> _bodies = [];

        public List<string> Asked { get; } = [];

        public string this[string path]
        {
            set => _bodies[path] = value;
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            Asked.Add(path);
            return Task.FromResult(_bodies.TryGetValue(path, out var body)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }
                : new HttpResponseMessage(HttpStatusCode.NotFound));
        }
    }
}

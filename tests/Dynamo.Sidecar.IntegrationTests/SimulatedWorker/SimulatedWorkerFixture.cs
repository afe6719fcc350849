using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker;
using Microsoft.AspNetCore.Builder;

namespace Dynamo.Sidecar.IntegrationTests.SimulatedWorker;

/// <summary>One real worker on a loopback port, shared by every test in the collection.</summary>
public sealed class SimulatedWorkerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=0"]);
        await _app.StartAsync();
        // No drain on dispose: a disposed stream closes its connection at once, as a client that leaves does.
        Client = new HttpClient(new SocketsHttpHandler { ResponseDrainTimeout = TimeSpan.Zero }) { BaseAddress = new Uri(_app.Urls.Single()) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>POSTs JSON and returns as soon as headers arrive, so streams can be read as they flow.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        return Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public async Task<JsonElement> PostUnaryAsync(string path, string json)
    {
        using var response = await PostAsync(path, json);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Reads a whole stream: the raw text, for framing checks, and the events as an SSE client sees them.</summary>
    public async Task<(string Raw, List<SseItem<string>> Events)> PostStreamAsync(
        string path, string json, params (string Name, string Value)[] headers)
    {
        using var response = await PostAsync(path, json, headers);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var raw = await response.Content.ReadAsByteArrayAsync();
        var events = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(new MemoryStream(raw)).EnumerateAsync())
        {
            events.Add(item);
        }

        return (Encoding.UTF8.GetString(raw), events);
    }

    /// <summary>The JSON chunks of an OpenAI-style stream, after checking it ends with <c>[DONE]</c>.</summary>
    public static List<JsonElement> ParseChunks(List<SseItem<string>> events)
    {
        Assert.Equal("[DONE]", events[^1].Data);
        return events[..^1].Select(e => JsonDocument.Parse(e.Data).RootElement.Clone()).ToList();
    }

    /// <param name="name">A metric name (its one series), or a whole series with its labels.</param>
    public async Task<double> ReadMetricAsync(string name)
    {
        var text = await Client.GetStringAsync("/metrics");
        var prefix = name.Contains('{', StringComparison.Ordinal) ? name + " " : name + "{";
        var line = text.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until a series exists with the expected value: the worker records a request after its response ends.</summary>
    public async Task<double> WaitForMetricAsync(string series, double expected)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var text = await Client.GetStringAsync("/metrics");
            var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
            var value = line is null ? double.NaN : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            // Generous: the whole suite runs in parallel on two cores.
            if (value == expected || deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                return value;
            }

            await Task.Delay(20);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SimulatedWorkerCollection : ICollectionFixture<SimulatedWorkerFixture>
{
    public const string Name = "SimulatedWorker";
}

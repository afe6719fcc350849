using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>What an HTTP client reads off the wire, with the fields that differ between any two calls removed.</summary>
internal static class WireEvents
{
    /// <summary>
    /// Fields a worker fills per call: ids, timestamps, build fingerprint and llama.cpp's per-call <c>timings</c>; in an
    /// Anthropic <c>message_start</c> event, the message's id.
    /// </summary>
    private static readonly string[] Volatile = ["id", "created", "system_fingerprint", "timings"];

    /// <summary>POSTs <paramref name="json"/> and reads the SSE events as they arrive, each data line normalised.</summary>
    public static async Task<List<string>> PostStreamAsync(HttpClient client, string path, string json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<string>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync())
        {
            events.Add(Normalize(item.Data));
        }

        return events;
    }

    /// <summary>A JSON text without the volatile top-level fields; anything else (<c>[DONE]</c>) unchanged.</summary>
    public static string Normalize(string data)
    {
        if (data.Length == 0 || data[0] != '{')
        {
            return data;
        }

        var node = JsonNode.Parse(data)!.AsObject();
        foreach (var field in Volatile)
        {
            node.Remove(field);
        }

        if (node["message"] is JsonObject message)
        {
            message.Remove("id");
        }

        return node.ToJsonString();
    }

    /// <summary>The usage object of the stream's chunks (the last one that has a non-null one), or null.</summary>
    public static JsonObject? Usage(IEnumerable<string> events) => events
        .Where(e => e.StartsWith('{'))
        .Select(e => JsonNode.Parse(e)!["usage"])
        .LastOrDefault(u => u is JsonObject) as JsonObject;
}

using System.Net.Http.Headers;
using System.Text;

namespace Dynamo.Sidecar.IntegrationTests.Support;

internal static class Requests
{
    public static HttpRequestMessage Post(string path, string json, string contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    /// <summary>Sends and reads the whole body as raw bytes, as they arrived.</summary>
    public static async Task<(HttpResponseMessage Response, byte[] Body)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsByteArrayAsync();
        return (response, body);
    }

    public static Task<(HttpResponseMessage Response, byte[] Body)> PostAsync(HttpClient client, string path, string json) =>
        SendAsync(client, Post(path, json));
}

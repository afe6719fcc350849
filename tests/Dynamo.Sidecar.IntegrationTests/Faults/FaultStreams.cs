using System.Text;
using Dynamo.Sidecar.IntegrationTests.Support;

namespace Dynamo.Sidecar.IntegrationTests.Faults;

/// <summary>Bodies and clients for the fault tests.</summary>
internal static class FaultStreams
{
    /// <summary>A Responses API event, as OpenAI and vLLM write them: an <c>event:</c> line, then the <c>data:</c> line.</summary>
    public static string ResponsesEvent(string type, string fields) =>
        $"event: {type}\ndata: {{\"type\":\"{type}\",{fields}}}\n\n";

    public static string ChatRequest(string model, bool stream, int maxTokens = 16) =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hello"}],"stream":{{(stream ? "true" : "false")}},"max_tokens":{{maxTokens}}}""";

    /// <summary>
    /// A client that, like a browser tab being closed, drops its connection the moment it disposes a
    /// response it has not read to the end (HttpClient would otherwise keep reading for up to 2 s to reuse it).
    /// </summary>
    public static HttpClient LeavingClient(Uri proxy) =>
        new(new SocketsHttpHandler { ResponseDrainTimeout = TimeSpan.Zero, MaxResponseDrainSize = 0 })
        {
            BaseAddress = proxy,
            Timeout = Timeout.InfiniteTimeSpan,
        };

    /// <summary>
    /// Sends <paramref name="request"/> from a <see cref="LeavingClient"/> that reads until <paramref name="tokens"/> of
    /// the <c>" t0"</c>, <c>" t1"</c>... content chunks arrived (what <c>RawExchange.SendTokensUntilAbortedAsync</c>
    /// sends), then leaves.
    /// </summary>
    public static async Task LeaveAfterTokensAsync(Uri proxy, HttpRequestMessage request, int tokens)
    {
        using var client = LeavingClient(proxy);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await ReadUntilAsync(await response.Content.ReadAsStreamAsync(), new MemoryStream(),
            text => CountOccurrences(text, "\"content\":\" t") >= tokens, timeout.Token);
    }

    /// <summary>Reads <paramref name="body"/> until it ends or fails, keeping every byte that arrived.</summary>
    public static async Task<(byte[] Received, Exception? Error)> ReadToEndOrFailureAsync(Stream body, CancellationToken cancellationToken = default)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
            }

            return (received.ToArray(), null);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            return (received.ToArray(), ex);
        }
    }

    /// <summary>Reads from <paramref name="body"/> into <paramref name="received"/> until what arrived so far satisfies <paramref name="enough"/>.</summary>
    public static async Task ReadUntilAsync(Stream body, MemoryStream received, Func<string, bool> enough, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (!enough(Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length)))
        {
            var read = await body.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new InvalidOperationException("The stream ended before the expected events arrived: " + Encoding.UTF8.GetString(received.ToArray()));
            }

            received.Write(buffer, 0, read);
        }
    }

    public static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

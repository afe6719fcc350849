using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dynamo.Sidecar.Testing.Workers;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>
/// A worker written on a bare socket, for what WireMock.Net cannot do: write a body in pieces of
/// our choosing, cut a stream mid-event, never answer, and see when the sidecar drops the connection.
/// </summary>
internal sealed class RawSocketWorker : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<RawExchange, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public RawSocketWorker(Func<RawExchange, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        _acceptLoop = AcceptAsync();
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every exchange so far, in arrival order.</summary>
    public ConcurrentQueue<RawExchange> Exchanges { get; } = new();

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        socket.NoDelay = true;
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var exchange = await RawExchange.ReadRequestAsync(stream);
        if (exchange is null)
        {
            return;
        }

        Exchanges.Enqueue(exchange);
        try
        {
            await _handler(exchange);
        }
        catch (IOException)
        {
            exchange.MarkAborted();
        }
    }
}

/// <summary>One request the raw worker received, and the means to answer it.</summary>
internal sealed class RawExchange
{
    private readonly NetworkStream _stream;
    private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RawExchange(NetworkStream stream, string requestHead, byte[] body)
    {
        _stream = stream;
        RequestHead = requestHead;
        Body = body;
        _ = WatchForCloseAsync();
    }

    public string RequestHead { get; }
    public byte[] Body { get; }

    /// <summary>Completes when the sidecar closes or resets the connection.</summary>
    public Task Aborted => _aborted.Task;

    public static async Task<RawExchange?> ReadRequestAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(head))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            head.Add(one[0]);
        }

        var headText = Encoding.ASCII.GetString(head.ToArray());
        var lengthLine = headText.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var body = new byte[lengthLine is null ? 0 : int.Parse(lengthLine["Content-Length:".Length..].Trim())];
        await stream.ReadExactlyAsync(body);
        return new RawExchange(stream, headText, body);
    }

    /// <summary>Sends a status line and headers for a chunked body; one exchange per connection, so the sidecar never reuses it.</summary>
    public Task SendHeadAsync(string contentType = "text/event-stream", int status = 200) =>
        WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));

    /// <summary>Sends one HTTP chunk carrying <paramref name="data"/>, as its own TCP write.</summary>
    public async Task SendChunkAsync(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        await WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:X}\r\n"));
        await WriteAsync(data);
        await WriteAsync("\r\n"u8.ToArray());
    }

    /// <summary>Ends the chunked body cleanly.</summary>
    public Task SendEndAsync() => WriteAsync("0\r\n\r\n"u8.ToArray());

    /// <summary>
    /// Sends vLLM's role chunk and <paramref name="tokens"/> content chunks (<c>" t0"</c>, <c>" t1"</c>...) of a chat
    /// stream for <paramref name="model"/>, then nothing more until the sidecar drops the connection: a worker still
    /// generating when its client leaves.
    /// </summary>
    public async Task SendTokensUntilAbortedAsync(string model, int tokens)
    {
        var vllm = new VllmStream(model);
        await SendChunkAsync(Encoding.UTF8.GetBytes(SseFrame.Event(vllm.Role())));
        for (var i = 0; i < tokens; i++)
        {
            await SendChunkAsync(Encoding.UTF8.GetBytes(SseFrame.Event(vllm.Content($" t{i}"))));
        }

        await Aborted;
    }

    /// <summary>Drops the connection without ending the body: a worker crash.</summary>
    public void Cut() => _stream.Socket.Close(0);

    public void MarkAborted() => _aborted.TrySetResult();

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    private async Task WatchForCloseAsync()
    {
        try
        {
            // The sidecar sends nothing after its request; a read ending means the connection went away.
            var probe = new byte[1];
            while (await _stream.ReadAsync(probe) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }

        MarkAborted();
    }

    private static bool EndsWithBlankLine(List<byte> head) =>
        head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n';
}

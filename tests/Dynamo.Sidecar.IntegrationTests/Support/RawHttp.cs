using System.Net.Sockets;
using System.Text;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>
/// HTTP/1.1 on a bare socket, for what HttpClient refuses to send: conflicting framing, header floods,
/// requests written a byte at a time.
/// </summary>
internal static class RawHttp
{
    /// <summary>Long enough for any answer on loopback; only reached when the server keeps a connection open.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static async Task<Socket> ConnectAsync(Uri address)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(address.Host, address.Port);
        return socket;
    }

    /// <summary>Sends <paramref name="request"/> and returns every byte the server answers until it closes the connection.</summary>
    public static async Task<string> ExchangeAsync(Uri address, byte[] request)
    {
        using var socket = await ConnectAsync(address);
        try
        {
            await socket.SendAsync(request);
        }
        catch (SocketException)
        {
            // The server answered and closed before it read everything (a flood it rejected early): read its answer.
        }

        return await ReadUntilClosedAsync(socket);
    }

    /// <summary>Reads until the server closes (or resets) the connection; fails if it stays open past <see cref="Patience"/>.</summary>
    public static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // A reset after the answer still leaves the answer.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the server kept the connection open for {Patience.TotalSeconds} s; it answered: {Encoding.Latin1.GetString(received.ToArray())}");
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>A request head with CRLF line endings, from lines written without them.</summary>
    public static byte[] Head(params string[] lines) => Encoding.Latin1.GetBytes(string.Join("\r\n", lines) + "\r\n\r\n");

    /// <summary>One HTTP chunk carrying <paramref name="data"/>, its size computed.</summary>
    public static string Chunk(string data) => $"{Encoding.Latin1.GetByteCount(data):x}\r\n{data}\r\n";
}

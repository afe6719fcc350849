using System.Text;

namespace Dynamo.Sidecar.Tests.Support;

/// <summary>Builds SSE bodies as a worker writes them, with any line ending.</summary>
internal static class SseText
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>One <c>data:</c> event per payload, each ended by a blank line, with <paramref name="newline"/> line endings.</summary>
    public static string Events(string newline, params string[] payloads) =>
        string.Concat(payloads.Select(p => Event(newline, p)));

    public static string Event(string newline, string payload) => "data: " + payload + newline + newline;

    /// <summary>Reads a stream to its end with reads of <paramref name="readSize"/> bytes.</summary>
    public static async Task<byte[]> ReadToEndAsync(Stream stream, int readSize = 4096)
    {
        var result = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            result.Write(buffer, 0, read);
        }

        return result.ToArray();
    }

    /// <summary>Same as <see cref="ReadToEndAsync"/> for doubles that complete synchronously (keeps tight loops fast).</summary>
    public static byte[] ReadToEnd(Stream stream, int readSize = 4096)
    {
        var task = ReadToEndAsync(stream, readSize);
        return task.IsCompleted ? task.Result : task.GetAwaiter().GetResult();
    }
}

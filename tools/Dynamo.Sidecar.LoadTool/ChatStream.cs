using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>What the client saw of one streamed completion. Times are <see cref="Stopwatch"/> timestamps.</summary>
internal sealed class StreamRecord(LatencyHistogram gaps)
{
    public long Started { get; set; }

    /// <summary>First event carrying generated text; TTFT is measured to it.</summary>
    public long FirstContent { get; set; }

    /// <summary>Where gaps between consecutive data events after the first content event go (shared by the run).</summary>
    public LatencyHistogram Gaps { get; } = gaps;

    /// <summary>Data events other than <c>[DONE]</c>.</summary>
    public int Events { get; set; }

    public bool SawDone { get; set; }

    /// <summary>Stopped by the run's deadline, not by the server: not an error.</summary>
    public bool Cut { get; set; }

    public string? Error { get; set; }
}

/// <summary>
/// Sends one streaming chat completion and reads its body as it arrives, with a raw byte reader: each read is
/// split into SSE events, each event is timed when the read that completed it returns. Only the event in progress
/// is held, never the body.
/// </summary>
internal static class ChatStream
{
    private const int ReadSize = 16 * 1024;
    private const int MaxHeldEventBytes = 1024 * 1024;

    public static byte[] RequestBody(string model, int tokens, bool stream = true) => Encoding.UTF8.GetBytes(
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"max_tokens":{{tokens}},"messages":[{"role":"system","content":"You are a load generator."},{"role":"user","content":"Count slowly from one to infinity, one word per token."}]}""");

    /// <param name="opened">Called once the response headers arrived (the stream is open); <paramref name="closed"/> when it ends.</param>
    public static async Task RunAsync(HttpClient client, Uri endpoint, byte[] body, double? rate, IReadOnlyList<KeyValuePair<string, string>> headers,
        StreamRecord record, Action opened, Action closed, CancellationToken cutAt)
    {
        using var request = NewRequest(endpoint, body, rate, headers);

        var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
        ArrayBufferWriter<byte>? held = null; // only for an event split across reads
        var isOpen = false;
        try
        {
            record.Started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cutAt).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                record.Error = $"HTTP {(int)response.StatusCode}";
                return;
            }

            isOpen = true;
            opened();
            using var stream = await response.Content.ReadAsStreamAsync(cutAt).ConfigureAwait(false);
            var splitter = new SseEventSplitter();
            var last = 0L;
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, ReadSize), cutAt).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                var bytes = buffer.AsSpan(0, read);
                while (!bytes.IsEmpty)
                {
                    var length = splitter.FindEventEnd(bytes);
                    if (length < 0)
                    {
                        held ??= new ArrayBufferWriter<byte>(1024);
                        if (held.WrittenCount + bytes.Length <= MaxHeldEventBytes)
                        {
                            held.Write(bytes);
                        }

                        break;
                    }

                    ReadOnlySpan<byte> rawEvent;
                    if (held is { WrittenCount: > 0 })
                    {
                        held.Write(bytes[..length]);
                        rawEvent = held.WrittenSpan;
                    }
                    else
                    {
                        rawEvent = bytes[..length];
                    }

                    OnEvent(rawEvent, now, record, ref last);
                    held?.ResetWrittenCount();
                    bytes = bytes[length..];
                }
            }

            if (!record.SawDone)
            {
                record.Error = "stream ended without [DONE]";
            }
        }
        catch (OperationCanceledException) when (cutAt.IsCancellationRequested)
        {
            record.Cut = true;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            record.Error = ex.GetType().Name + ": " + ex.Message;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (isOpen)
            {
                closed();
            }
        }
    }

    /// <summary>A chat completion POST with the simulated worker's pacing header and the run's extra headers.</summary>
    public static HttpRequestMessage NewRequest(Uri endpoint, byte[] body, double? rate, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body), Version = HttpVersion.Version11 };
        request.Content.Headers.ContentType = new("application/json");
        if (rate is { } tokensPerSecond)
        {
            request.Headers.TryAddWithoutValidation("x-sim-tokens-per-second", tokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private static void OnEvent(ReadOnlySpan<byte> rawEvent, long now, StreamRecord record, ref long last)
    {
        if (!TryGetData(rawEvent, out var data))
        {
            return; // a comment or keep-alive
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            record.SawDone = true;
            return;
        }

        record.Events++;
        if (record.FirstContent == 0)
        {
            if (CarriesText(data))
            {
                record.FirstContent = now;
                last = now;
            }

            return;
        }

        record.Gaps.RecordTicks(now - last);
        last = now;
    }

    /// <summary>The value of the event's first <c>data:</c> line (enough to classify it).</summary>
    private static bool TryGetData(ReadOnlySpan<byte> rawEvent, out ReadOnlySpan<byte> data)
    {
        while (!rawEvent.IsEmpty)
        {
            var end = rawEvent.IndexOfAny((byte)'\n', (byte)'\r');
            var line = end < 0 ? rawEvent : rawEvent[..end];
            if (line.StartsWith("data:"u8))
            {
                data = line[5..];
                if (!data.IsEmpty && data[0] == (byte)' ')
                {
                    data = data[1..];
                }

                return true;
            }

            rawEvent = end < 0 ? default : rawEvent[(end + 1)..];
        }

        data = default;
        return false;
    }

    /// <summary>A chunk with non-empty <c>content</c> or <c>text</c>: a token the user sees.</summary>
    private static bool CarriesText(ReadOnlySpan<byte> json) =>
        HasNonEmptyString(json, "\"content\":\""u8) || HasNonEmptyString(json, "\"text\":\""u8);

    private static bool HasNonEmptyString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> prefix)
    {
        var at = json.IndexOf(prefix);
        return at >= 0 && at + prefix.Length < json.Length && json[at + prefix.Length] != (byte)'"';
    }
}

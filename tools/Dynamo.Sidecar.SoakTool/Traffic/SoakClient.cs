using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.LoadTool;

namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>
/// Sends one planned request and reads the answer the way an SSE client does: event by event, counting the
/// output tokens it carries. Holds only the event in progress, unless the request asks to keep the body.
/// </summary>
internal sealed class SoakClient(HttpClient client, Uri baseUrl)
{
    private const int ReadSize = 16 * 1024;

    // About 40 tokens of prompt; fixed, since prompts are never logged and only their size matters here.
    private const string Prompt = "Soak test prompt: count slowly from one to infinity, one word per token, and never stop counting.";

    /// <summary>Requests that take longer are a hang: the soak reports them instead of waiting forever.</summary>
    private static readonly TimeSpan RequestLimit = TimeSpan.FromSeconds(120);

    public static string BodyOf(SoakRequest request) => request.Body(Prompt);

    public async Task<RequestResult> SendAsync(SoakRequest plan, CancellationToken stop)
    {
        var result = new RequestResult(plan);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, plan.Path))
        {
            Content = new StringContent(BodyOf(plan), Encoding.UTF8, "application/json"),
            Version = HttpVersion.Version11,
        };
        request.Headers.TryAddWithoutValidation("x-sim-tokens-per-second", plan.TokensPerSecond.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("x-sim-ttft-ms", plan.TimeToFirstTokenMs.ToString(CultureInfo.InvariantCulture));
        switch (plan.Fault)
        {
            case Fault.Status:
                request.Headers.TryAddWithoutValidation("x-sim-fault", $"status={plan.Status}");
                break;
            case Fault.WorkerCut:
                request.Headers.TryAddWithoutValidation("x-sim-fault", $"cut-after={plan.FaultAfter}");
                break;
            case Fault.WorkerStall:
                request.Headers.TryAddWithoutValidation("x-sim-fault", $"stall-after={plan.FaultAfter}");
                break;
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop);
        limit.CancelAfter(RequestLimit);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
            result.Status = (int)response.StatusCode;
            await using var body = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
            if (plan.IsStream && result.Status == 200)
            {
                await ReadStreamAsync(body, result, limit.Token).ConfigureAwait(false);
            }
            else
            {
                var bytes = await ReadAllAsync(body, limit.Token).ConfigureAwait(false);
                result.BodyBytes = bytes.Length;
                ReadUnary(bytes, result);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            result.TransportError = $"no end within {RequestLimit.TotalSeconds:F0} s";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            result.TransportError = ex.GetType().Name;
        }

        return result;
    }

    private static async Task<byte[]> ReadAllAsync(Stream body, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.ToArray();
    }

    private static async Task ReadStreamAsync(Stream body, RequestResult result, CancellationToken cancellationToken)
    {
        var plan = result.Request;
        var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
        var held = new ArrayBufferWriter<byte>(1024); // the event in progress, when split across reads
        var kept = plan.CompareBytes ? new MemoryStream() : null;
        var splitter = new SseEventSplitter();
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(buffer.AsMemory(0, ReadSize), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                result.BodyBytes += read;
                kept?.Write(buffer, 0, read);
                var bytes = buffer.AsSpan(0, read);
                while (!bytes.IsEmpty)
                {
                    var length = splitter.FindEventEnd(bytes);
                    if (length < 0)
                    {
                        held.Write(bytes);
                        break;
                    }

                    held.Write(bytes[..length]);
                    OnEvent(held.WrittenSpan, result);
                    held.ResetWrittenCount();
                    bytes = bytes[length..];
                }

                if (plan.Fault == Fault.ClientDisconnect && result.ContentTokens >= plan.FaultAfter)
                {
                    // Leave mid-stream: disposing the response aborts the connection.
                    result.ClientLeft = true;
                    return;
                }
            }

            result.Body = kept?.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            kept?.Dispose();
        }
    }

    private static void OnEvent(ReadOnlySpan<byte> rawEvent, RequestResult result)
    {
        ReadOnlySpan<byte> eventName = default;
        ReadOnlySpan<byte> data = default;
        var hasData = false;
        while (!rawEvent.IsEmpty)
        {
            var end = rawEvent.IndexOfAny((byte)'\n', (byte)'\r');
            var line = end < 0 ? rawEvent : rawEvent[..end];
            if (line.StartsWith("data: "u8))
            {
                data = line[6..];
                hasData = true;
            }
            else if (line.StartsWith("event: "u8))
            {
                eventName = line[7..];
            }

            rawEvent = end < 0 ? default : rawEvent[(end + 1)..];
        }

        if (!hasData)
        {
            return;
        }

        if (result.EndedWell)
        {
            result.Malformed = true; // nothing may follow the end
            return;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            result.EndedWell = result.Request.Kind != RequestKind.ResponsesStream;
            result.Malformed |= !result.EndedWell;
            return;
        }

        try
        {
            using var json = JsonDocument.Parse(data.ToArray());
            if (result.Request.Kind == RequestKind.ResponsesStream)
            {
                OnResponsesEvent(eventName, json.RootElement, result);
            }
            else
            {
                OnChunk(json.RootElement, result);
            }
        }
        catch (JsonException)
        {
            result.Malformed = true;
        }
    }

    private static void OnChunk(JsonElement chunk, RequestResult result)
    {
        var choices = chunk.GetProperty("choices");
        var textField = result.Request.Kind == RequestKind.ChatStream ? "content" : "text";
        foreach (var choice in choices.EnumerateArray())
        {
            var holder = result.Request.Kind == RequestKind.ChatStream ? choice.GetProperty("delta") : choice;
            if (holder.TryGetProperty(textField, out var text) && text.ValueKind == JsonValueKind.String && text.GetString()!.Length > 0)
            {
                result.ContentTokens++;
            }
        }

        if (choices.GetArrayLength() == 0 && chunk.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            result.SawUsageChunk = true;
            result.UsageTokens = usage.GetProperty("completion_tokens").GetInt32();
        }
    }

    private static void OnResponsesEvent(ReadOnlySpan<byte> eventName, JsonElement data, RequestResult result)
    {
        if (eventName.SequenceEqual("response.output_text.delta"u8))
        {
            result.ContentTokens++;
        }
        else if (eventName.SequenceEqual("response.completed"u8))
        {
            result.UsageTokens = data.GetProperty("response").GetProperty("usage").GetProperty("output_tokens").GetInt32();
            result.EndedWell = true;
        }
    }

    private static void ReadUnary(byte[] body, RequestResult result)
    {
        if (result.Status != 200)
        {
            ReadError(body, result);
            return;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("usage", out var usage))
            {
                result.Malformed = true;
                return;
            }

            result.UsageTokens = result.Request.Kind switch
            {
                RequestKind.ResponsesUnary => usage.GetProperty("output_tokens").GetInt32(),
                RequestKind.Embeddings => 0,
                _ => usage.GetProperty("completion_tokens").GetInt32(),
            };
            result.EndedWell = true;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            result.Malformed = true;
        }
    }

    private static void ReadError(byte[] body, RequestResult result)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            result.ErrorBodyMatchesStatus = root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("object", out var type) && type.ValueEquals("error")
                && root.TryGetProperty("code", out var code) && code.TryGetInt32(out var status) && status == result.Status;
        }
        catch (JsonException)
        {
            // Not the worker's error body (YARP's own 502 and 504 have none).
        }
    }
}

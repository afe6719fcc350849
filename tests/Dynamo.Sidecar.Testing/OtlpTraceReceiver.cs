using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// An OTLP/HTTP trace receiver on loopback (<c>POST /v1/traces</c>, <c>application/x-protobuf</c>), standing in
/// for a collector: it decodes each <c>ExportTraceServiceRequest</c> with a minimal protobuf wire reader and
/// keeps the spans. Point a sidecar at it with <see cref="SidecarSettings"/> or <see cref="SidecarEnvironment"/>.
/// </summary>
public sealed class OtlpTraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpTraceReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public string Endpoint => _app.Urls.First();

    /// <summary>What a sidecar process needs in its environment to export here: the standard OTel variables, and a short batch delay.</summary>
    public IReadOnlyDictionary<string, string> SidecarEnvironment => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "50",
    };

    /// <summary>The same as <see cref="SidecarEnvironment"/>, as settings for an in-process <see cref="SidecarHost"/>.</summary>
    public string[] SidecarSettings => [.. SidecarEnvironment.Select(v => $"{v.Key}={v.Value}")];

    public static async Task<OtlpTraceReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0"] });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpTraceReceiver(app);
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            foreach (var span in OtlpWire.ReadExportTraceServiceRequest(body.ToArray()))
            {
                receiver.Spans.Enqueue(span);
            }

            // An empty ExportTraceServiceResponse.
            context.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until the spans of <paramref name="traceId"/> number at least <paramref name="count"/> (the exporter batches).</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(string traceId, int count = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var spans = Spans.Where(s => s.TraceId == traceId).ToList();
            if (spans.Count >= count || DateTime.UtcNow > deadline)
            {
                return spans;
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One span as the collector would see it; ids in lowercase hex, attribute values as decoded (string, long, double, bool).</summary>
public sealed record ReceivedSpan(
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string TraceState,
    string Name,
    int Kind,
    ulong StartUnixNanos,
    ulong EndUnixNanos,
    IReadOnlyDictionary<string, object> Attributes,
    IReadOnlyList<ReceivedSpanEvent> Events,
    int StatusCode,
    IReadOnlyDictionary<string, object> ResourceAttributes,
    string ScopeName);

public sealed record ReceivedSpanEvent(string Name, ulong UnixNanos);

/// <summary>The protobuf wire format, only as far as <c>opentelemetry/proto/collector/trace/v1</c> needs it.</summary>
internal static class OtlpWire
{
    public static List<ReceivedSpan> ReadExportTraceServiceRequest(byte[] message)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, resourceSpans) in Fields(message))
        {
            if (field == 1)
            {
                ReadResourceSpans(resourceSpans.Bytes, spans);
            }
        }

        return spans;
    }

    private static void ReadResourceSpans(ReadOnlyMemory<byte> message, List<ReceivedSpan> spans)
    {
        var resource = new Dictionary<string, object>();
        var scopes = new List<ReadOnlyMemory<byte>>();
        foreach (var (field, value) in Fields(message))
        {
            if (field == 1)
            {
                foreach (var (resourceField, attribute) in Fields(value.Bytes))
                {
                    if (resourceField == 1)
                    {
                        AddKeyValue(attribute.Bytes, resource);
                    }
                }
            }
            else if (field == 2)
            {
                scopes.Add(value.Bytes);
            }
        }

        foreach (var scopeSpans in scopes)
        {
            var scopeName = "";
            var raw = new List<ReadOnlyMemory<byte>>();
            foreach (var (field, value) in Fields(scopeSpans))
            {
                if (field == 1)
                {
                    scopeName = Fields(value.Bytes).Where(f => f.Field == 1).Select(f => f.Value.Text).FirstOrDefault() ?? "";
                }
                else if (field == 2)
                {
                    raw.Add(value.Bytes);
                }
            }

            spans.AddRange(raw.Select(span => ReadSpan(span, resource, scopeName)));
        }
    }

    private static ReceivedSpan ReadSpan(ReadOnlyMemory<byte> message, IReadOnlyDictionary<string, object> resource, string scopeName)
    {
        string traceId = "", spanId = "", parentSpanId = "", traceState = "", name = "";
        int kind = 0, statusCode = 0;
        ulong start = 0, end = 0;
        var attributes = new Dictionary<string, object>();
        var events = new List<ReceivedSpanEvent>();
        foreach (var (field, value) in Fields(message))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Bytes.Span); break;
                case 2: spanId = Convert.ToHexStringLower(value.Bytes.Span); break;
                case 3: traceState = value.Text; break;
                case 4: parentSpanId = Convert.ToHexStringLower(value.Bytes.Span); break;
                case 5: name = value.Text; break;
                case 6: kind = (int)value.Number; break;
                case 7: start = value.Number; break;
                case 8: end = value.Number; break;
                case 9: AddKeyValue(value.Bytes, attributes); break;
                case 11:
                    ulong time = 0;
                    var eventName = "";
                    foreach (var (eventField, eventValue) in Fields(value.Bytes))
                    {
                        if (eventField == 1)
                        {
                            time = eventValue.Number;
                        }
                        else if (eventField == 2)
                        {
                            eventName = eventValue.Text;
                        }
                    }

                    events.Add(new ReceivedSpanEvent(eventName, time));
                    break;
                case 15:
                    statusCode = (int)(Fields(value.Bytes).Where(f => f.Field == 3).Select(f => f.Value.Number).FirstOrDefault());
                    break;
            }
        }

        return new ReceivedSpan(traceId, spanId, parentSpanId, traceState, name, kind, start, end, attributes, events, statusCode, resource, scopeName);
    }

    private static void AddKeyValue(ReadOnlyMemory<byte> keyValue, Dictionary<string, object> into)
    {
        string? key = null;
        object? value = null;
        foreach (var (field, item) in Fields(keyValue))
        {
            if (field == 1)
            {
                key = item.Text;
            }
            else if (field == 2)
            {
                foreach (var (anyField, any) in Fields(item.Bytes))
                {
                    value = anyField switch
                    {
                        1 => any.Text,
                        2 => any.Number != 0,
                        3 => (long)any.Number,
                        4 => BitConverter.UInt64BitsToDouble(any.Number),
                        _ => value,
                    };
                }
            }
        }

        if (key is not null && value is not null)
        {
            into[key] = value;
        }
    }

    private static IEnumerable<(int Field, WireValue Value)> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message.Span, ref position);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    yield return (field, new WireValue(ReadVarint(message.Span, ref position), default));
                    break;
                case 1:
                    yield return (field, new WireValue(BinaryPrimitives.ReadUInt64LittleEndian(message.Span[position..]), default));
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message.Span, ref position);
                    yield return (field, new WireValue(0, message.Slice(position, length)));
                    position += length;
                    break;
                case 5:
                    yield return (field, new WireValue(BinaryPrimitives.ReadUInt32LittleEndian(message.Span[position..]), default));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type in tag {tag}");
            }
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    private readonly record struct WireValue(ulong Number, ReadOnlyMemory<byte> Bytes)
    {
        public string Text => Encoding.UTF8.GetString(Bytes.Span);
    }
}

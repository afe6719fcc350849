using System.Buffers;
using System.Text;
using System.Text.Json;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.AccessLog;

/// <summary>
/// Writes one JSON line per metered request when it ends, through the logging pipeline in the
/// <see cref="Category"/> category, so operators route and filter it with ordinary logging configuration.
/// It is built from the request's <see cref="RequestSummary"/> and labels only: no prompt, completion,
/// header or key can reach it.
/// </summary>
internal sealed partial class AccessLogWriter(ILoggerFactory loggers, TimeProvider time)
{
    public const string Category = "Dynamo.Sidecar.AccessLog";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public void Write(in RequestSummary summary, string? tenant, string? traceId)
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("time", time.GetUtcNow());
            json.WriteString("model", summary.Model);
            json.WriteString("endpoint", summary.Endpoint.Label());
            json.WriteString("request_type", summary.RequestType);
            json.WriteNumber("http_status", summary.HttpStatus);
            json.WriteString("status", summary.Outcome.Status);
            json.WriteString("error_type", summary.Outcome.ErrorType);
            Tokens(json, "input_tokens", summary.InputTokens);
            Tokens(json, "output_tokens", summary.OutputTokens);
            Tokens(json, "cached_tokens", summary.CachedTokens);
            Tokens(json, "reasoning_tokens", summary.ReasoningTokens);
            if (summary.TimeToFirstToken is { } ttft)
            {
                json.WriteNumber("ttft_ms", Math.Round(ttft.TotalMilliseconds, 3));
            }
            else
            {
                json.WriteNull("ttft_ms");
            }

            json.WriteNumber("duration_ms", Math.Round(summary.Duration.TotalMilliseconds, 3));
            WriteOrNull(json, "tenant", tenant);
            WriteOrNull(json, "trace_id", traceId);
            json.WriteBoolean("client_disconnected", summary.Outcome.ClientDisconnected);
            json.WriteEndObject();
        }

        Request(_logger, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [LoggerMessage(EventId = 100, EventName = "AccessLog", Level = LogLevel.Information, Message = "{AccessLogEntry}")]
    private static partial void Request(ILogger logger, string accessLogEntry);

    // A figure the worker did not report is null, not 0: "no usage" and "zero tokens" differ.
    private static void Tokens(Utf8JsonWriter json, string name, long tokens)
    {
        if (tokens >= 0)
        {
            json.WriteNumber(name, tokens);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}

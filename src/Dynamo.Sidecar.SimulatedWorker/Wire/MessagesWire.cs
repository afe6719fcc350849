using System.IO.Pipelines;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>
/// Anthropic Messages API bytes for <c>/v1/messages</c>: one assistant message with one text block. Streams
/// are named events (<c>message_start</c>, <c>content_block_start</c>, a <c>content_block_delta</c> per
/// token, <c>content_block_stop</c>, <c>message_delta</c>, <c>message_stop</c>), with no <c>[DONE]</c>.
/// Usage follows Anthropic's definition: <c>input_tokens</c> excludes the prompt tokens read from the
/// prefix cache, which are reported as <c>cache_read_input_tokens</c>.
/// </summary>
internal sealed class MessagesWire(PipeWriter body, GenerationJob job) : IGenerationWire
{
    private static readonly JsonEncodedText MessageStart = JsonEncodedText.Encode("message_start");
    private static readonly JsonEncodedText ContentBlockStart = JsonEncodedText.Encode("content_block_start");
    private static readonly JsonEncodedText ContentBlockDelta = JsonEncodedText.Encode("content_block_delta");
    private static readonly JsonEncodedText ContentBlockStop = JsonEncodedText.Encode("content_block_stop");
    private static readonly JsonEncodedText MessageDelta = JsonEncodedText.Encode("message_delta");
    private static readonly JsonEncodedText MessageStop = JsonEncodedText.Encode("message_stop");

    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText ContentBlock = JsonEncodedText.Encode("content_block");
    private static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
    private static readonly JsonEncodedText TextDelta = JsonEncodedText.Encode("text_delta");
    private static readonly JsonEncodedText StopReason = JsonEncodedText.Encode("stop_reason");
    private static readonly JsonEncodedText StopSequence = JsonEncodedText.Encode("stop_sequence");
    // The simulated model never stops on its own: every answer runs to max_tokens.
    private static readonly JsonEncodedText MaxTokens = JsonEncodedText.Encode("max_tokens");
    private static readonly JsonEncodedText InputTokens = JsonEncodedText.Encode("input_tokens");
    private static readonly JsonEncodedText CacheCreationInputTokens = JsonEncodedText.Encode("cache_creation_input_tokens");
    private static readonly JsonEncodedText CacheReadInputTokens = JsonEncodedText.Encode("cache_read_input_tokens");
    private static readonly JsonEncodedText OutputTokens = JsonEncodedText.Encode("output_tokens");

    private readonly SseWriter _sse = new(body);
    private readonly JsonEncodedText _messageId = WireJson.NewId("msg_");

    // Anthropic's message_start already counts the first output token, as its API does.
    public ValueTask WriteStreamStartAsync(CancellationToken cancellationToken)
    {
        var json = BeginEvent(MessageStart);
        json.WritePropertyName(Message);
        WriteMessage(json, text: default, completed: false, outputTokens: 1);
        return EndEventAsync(json, cancellationToken);
    }

    public ValueTask WriteOutputStartAsync(CancellationToken cancellationToken)
    {
        var json = BeginEvent(ContentBlockStart);
        json.WriteNumber(WireJson.Index, 0);
        json.WritePropertyName(ContentBlock);
        WriteTextBlock(json, ""u8);
        return EndEventAsync(json, cancellationToken);
    }

    public ValueTask WriteTokenAsync(int choice, int position, bool isLast, int generatedSoFar, CancellationToken cancellationToken)
    {
        var json = BeginEvent(ContentBlockDelta);
        json.WriteNumber(WireJson.Index, 0);
        json.WriteStartObject(Delta);
        json.WriteString(WireJson.Type, TextDelta);
        json.WriteString(WireJson.Text, TokenSource.TokenAt(position));
        json.WriteEndObject();
        return EndEventAsync(json, cancellationToken);
    }

    public async ValueTask WriteStreamEndAsync(int generatedTokens, CancellationToken cancellationToken)
    {
        var json = BeginEvent(ContentBlockStop);
        json.WriteNumber(WireJson.Index, 0);
        await EndEventAsync(json, cancellationToken);

        json = BeginEvent(MessageDelta);
        json.WriteStartObject(Delta);
        json.WriteString(StopReason, MaxTokens);
        json.WriteNull(StopSequence);
        json.WriteEndObject();
        json.WriteStartObject(WireJson.Usage);
        json.WriteNumber(OutputTokens, generatedTokens);
        json.WriteEndObject();
        await EndEventAsync(json, cancellationToken);

        json = BeginEvent(MessageStop);
        await EndEventAsync(json, cancellationToken);
    }

    public void WriteUnary(PooledByteBuffer output)
    {
        using var text = new PooledByteBuffer();
        TokenSource.WriteText(job.MaxTokens, text);
        using var json = new Utf8JsonWriter(output, WireJson.WriterOptions);
        WriteMessage(json, text.WrittenSpan, completed: true, outputTokens: job.MaxTokens);
    }

    private Utf8JsonWriter BeginEvent(JsonEncodedText type)
    {
        var json = _sse.BeginEvent(type.EncodedUtf8Bytes);
        json.WriteStartObject();
        json.WriteString(WireJson.Type, type);
        return json;
    }

    private ValueTask EndEventAsync(Utf8JsonWriter json, CancellationToken cancellationToken)
    {
        json.WriteEndObject();
        return _sse.EndEventAsync(cancellationToken);
    }

    // A message being streamed has no content and no stop reason yet; a finished one carries both.
    private void WriteMessage(Utf8JsonWriter json, ReadOnlySpan<byte> text, bool completed, int outputTokens)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Id, _messageId);
        json.WriteString(WireJson.Type, Message);
        json.WriteString(WireJson.Role, WireJson.Assistant);
        json.WriteString(WireJson.Model, job.Model);
        json.WriteStartArray(WireJson.Content);
        if (completed)
        {
            WriteTextBlock(json, text);
        }

        json.WriteEndArray();
        if (completed)
        {
            json.WriteString(StopReason, MaxTokens);
        }
        else
        {
            json.WriteNull(StopReason);
        }

        json.WriteNull(StopSequence);
        json.WriteStartObject(WireJson.Usage);
        json.WriteNumber(InputTokens, job.Prompt.PromptTokens - job.Prompt.CachedTokens);
        json.WriteNumber(CacheCreationInputTokens, 0);
        json.WriteNumber(CacheReadInputTokens, job.Prompt.CachedTokens);
        json.WriteNumber(OutputTokens, outputTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteTextBlock(Utf8JsonWriter json, ReadOnlySpan<byte> text)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Type, WireJson.Text);
        json.WriteString(WireJson.Text, text);
        json.WriteEndObject();
    }
}

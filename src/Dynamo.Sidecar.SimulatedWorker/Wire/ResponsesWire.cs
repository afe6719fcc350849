using System.IO.Pipelines;
using System.Text.Json;
using Dynamo.Sidecar.SimulatedWorker.Generation;

namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>
/// OpenAI Responses API bytes for <c>/v1/responses</c>: one assistant message with one <c>output_text</c> part.
/// Streams are named events, each with a <c>sequence_number</c>, and end with <c>response.completed</c>, not <c>[DONE]</c>.
/// </summary>
internal sealed class ResponsesWire(PipeWriter body, GenerationJob job) : IGenerationWire
{
    private static readonly JsonEncodedText Created = JsonEncodedText.Encode("response.created");
    private static readonly JsonEncodedText InProgress = JsonEncodedText.Encode("response.in_progress");
    private static readonly JsonEncodedText OutputItemAdded = JsonEncodedText.Encode("response.output_item.added");
    private static readonly JsonEncodedText ContentPartAdded = JsonEncodedText.Encode("response.content_part.added");
    private static readonly JsonEncodedText OutputTextDelta = JsonEncodedText.Encode("response.output_text.delta");
    private static readonly JsonEncodedText OutputTextDone = JsonEncodedText.Encode("response.output_text.done");
    private static readonly JsonEncodedText ContentPartDone = JsonEncodedText.Encode("response.content_part.done");
    private static readonly JsonEncodedText OutputItemDone = JsonEncodedText.Encode("response.output_item.done");
    private static readonly JsonEncodedText Completed = JsonEncodedText.Encode("response.completed");

    private static readonly JsonEncodedText Response = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("created_at");
    private static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText StatusInProgress = JsonEncodedText.Encode("in_progress");
    private static readonly JsonEncodedText StatusCompleted = JsonEncodedText.Encode("completed");
    private static readonly JsonEncodedText Output = JsonEncodedText.Encode("output");
    private static readonly JsonEncodedText Item = JsonEncodedText.Encode("item");
    private static readonly JsonEncodedText ItemId = JsonEncodedText.Encode("item_id");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText Part = JsonEncodedText.Encode("part");
    private static readonly JsonEncodedText OutputText = JsonEncodedText.Encode("output_text");
    private static readonly JsonEncodedText Annotations = JsonEncodedText.Encode("annotations");
    private static readonly JsonEncodedText OutputIndex = JsonEncodedText.Encode("output_index");
    private static readonly JsonEncodedText ContentIndex = JsonEncodedText.Encode("content_index");
    private static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
    private static readonly JsonEncodedText SequenceNumber = JsonEncodedText.Encode("sequence_number");
    private static readonly JsonEncodedText InputTokens = JsonEncodedText.Encode("input_tokens");
    private static readonly JsonEncodedText InputTokensDetails = JsonEncodedText.Encode("input_tokens_details");
    private static readonly JsonEncodedText OutputTokens = JsonEncodedText.Encode("output_tokens");
    private static readonly JsonEncodedText OutputTokensDetails = JsonEncodedText.Encode("output_tokens_details");
    private static readonly JsonEncodedText ReasoningTokens = JsonEncodedText.Encode("reasoning_tokens");

    private readonly SseWriter _sse = new(body);
    private readonly JsonEncodedText _responseId = WireJson.NewId("resp_");
    private readonly JsonEncodedText _messageId = WireJson.NewId("msg_");
    private int _sequence;

    public async ValueTask WriteStreamStartAsync(CancellationToken cancellationToken)
    {
        await WriteResponseEventAsync(Created, text: default, completed: false, cancellationToken);
        await WriteResponseEventAsync(InProgress, text: default, completed: false, cancellationToken);
    }

    public async ValueTask WriteOutputStartAsync(CancellationToken cancellationToken)
    {
        var json = BeginEvent(OutputItemAdded);
        json.WriteNumber(OutputIndex, 0);
        json.WritePropertyName(Item);
        WriteMessage(json, text: default, completed: false);
        await EndEventAsync(json, cancellationToken);

        json = BeginContentEvent(ContentPartAdded);
        json.WritePropertyName(Part);
        WritePart(json, ""u8);
        await EndEventAsync(json, cancellationToken);
    }

    public ValueTask WriteTokenAsync(int choice, int position, bool isLast, int generatedSoFar, CancellationToken cancellationToken)
    {
        var json = BeginContentEvent(OutputTextDelta);
        json.WriteString(Delta, TokenSource.TokenAt(position));
        return EndEventAsync(json, cancellationToken);
    }

    public async ValueTask WriteStreamEndAsync(int generatedTokens, CancellationToken cancellationToken)
    {
        using var text = new PooledByteBuffer();
        TokenSource.WriteText(job.MaxTokens, text);

        var json = BeginContentEvent(OutputTextDone);
        json.WriteString(WireJson.Text, text.WrittenSpan);
        await EndEventAsync(json, cancellationToken);

        json = BeginContentEvent(ContentPartDone);
        json.WritePropertyName(Part);
        WritePart(json, text.WrittenSpan);
        await EndEventAsync(json, cancellationToken);

        json = BeginEvent(OutputItemDone);
        json.WriteNumber(OutputIndex, 0);
        json.WritePropertyName(Item);
        WriteMessage(json, text.WrittenSpan, completed: true);
        await EndEventAsync(json, cancellationToken);

        await WriteResponseEventAsync(Completed, text.WrittenSpan, completed: true, cancellationToken);
    }

    public void WriteUnary(PooledByteBuffer output)
    {
        using var text = new PooledByteBuffer();
        TokenSource.WriteText(job.MaxTokens, text);
        using var json = new Utf8JsonWriter(output, WireJson.WriterOptions);
        WriteResponse(json, text.WrittenSpan, completed: true);
    }

    private ValueTask WriteResponseEventAsync(JsonEncodedText type, ReadOnlySpan<byte> text, bool completed, CancellationToken cancellationToken)
    {
        var json = BeginEvent(type);
        json.WritePropertyName(Response);
        WriteResponse(json, text, completed);
        return EndEventAsync(json, cancellationToken);
    }

    private Utf8JsonWriter BeginEvent(JsonEncodedText type)
    {
        var json = _sse.BeginEvent(type.EncodedUtf8Bytes);
        json.WriteStartObject();
        json.WriteString(WireJson.Type, type);
        return json;
    }

    private Utf8JsonWriter BeginContentEvent(JsonEncodedText type)
    {
        var json = BeginEvent(type);
        json.WriteString(ItemId, _messageId);
        json.WriteNumber(OutputIndex, 0);
        json.WriteNumber(ContentIndex, 0);
        return json;
    }

    private ValueTask EndEventAsync(Utf8JsonWriter json, CancellationToken cancellationToken)
    {
        json.WriteNumber(SequenceNumber, _sequence++);
        json.WriteEndObject();
        return _sse.EndEventAsync(cancellationToken);
    }

    // While in progress the response has no output and no usage yet; once completed it carries both.
    private void WriteResponse(Utf8JsonWriter json, ReadOnlySpan<byte> text, bool completed)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Id, _responseId);
        json.WriteString(WireJson.Object, Response);
        json.WriteNumber(CreatedAt, job.Created);
        json.WriteString(WireJson.Model, job.Model);
        json.WriteString(Status, completed ? StatusCompleted : StatusInProgress);
        json.WriteStartArray(Output);
        if (completed)
        {
            WriteMessage(json, text, completed: true);
        }

        json.WriteEndArray();
        if (completed)
        {
            WriteUsage(json);
        }
        else
        {
            json.WriteNull(WireJson.Usage);
        }

        json.WriteEndObject();
    }

    private void WriteMessage(Utf8JsonWriter json, ReadOnlySpan<byte> text, bool completed)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Type, Message);
        json.WriteString(WireJson.Id, _messageId);
        json.WriteString(Status, completed ? StatusCompleted : StatusInProgress);
        json.WriteString(WireJson.Role, WireJson.Assistant);
        json.WriteStartArray(WireJson.Content);
        if (completed)
        {
            WritePart(json, text);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WritePart(Utf8JsonWriter json, ReadOnlySpan<byte> text)
    {
        json.WriteStartObject();
        json.WriteString(WireJson.Type, OutputText);
        json.WriteString(WireJson.Text, text);
        json.WriteStartArray(Annotations);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteUsage(Utf8JsonWriter json)
    {
        var outputTokens = job.MaxTokens;
        json.WriteStartObject(WireJson.Usage);
        json.WriteNumber(InputTokens, job.Prompt.PromptTokens);
        json.WriteStartObject(InputTokensDetails);
        json.WriteNumber(WireJson.CachedTokens, job.Prompt.CachedTokens);
        json.WriteEndObject();
        json.WriteNumber(OutputTokens, outputTokens);
        json.WriteStartObject(OutputTokensDetails);
        json.WriteNumber(ReasoningTokens, 0);
        json.WriteEndObject();
        json.WriteNumber(WireJson.TotalTokens, job.Prompt.PromptTokens + outputTokens);
        json.WriteEndObject();
    }
}

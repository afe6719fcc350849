using System.Text;

namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>What one SSE event of a worker's stream is, for a test that needs to pick events out.</summary>
public enum WorkerEventKind
{
    /// <summary>The first chunk of a choice: a role and no output.</summary>
    Role,

    /// <summary>A chunk or event that carries generated output (text, reasoning, tool-call arguments).</summary>
    Content,

    /// <summary>A chunk that carries a <c>finish_reason</c> and no output of its own.</summary>
    Finish,

    /// <summary>A chunk with no choices and the request's usage: removed for a client that did not ask for usage.</summary>
    UsageOnly,

    /// <summary><c>data: [DONE]</c>.</summary>
    Done,

    /// <summary>An error reported inside the 200 stream.</summary>
    Error,

    /// <summary>Anything else the protocol sends (Anthropic's <c>message_start</c>, <c>content_block_stop</c>, <c>ping</c>...).</summary>
    Frame,
}

/// <summary>One SSE event exactly as the worker writes it, framing and line endings included.</summary>
public sealed record WorkerEvent(WorkerEventKind Kind, string Text)
{
    /// <summary>The value of the event's <c>data:</c> line (without <c>"data: "</c> and the line ending).</summary>
    public string Data
    {
        get
        {
            var start = Text.StartsWith("data: ", StringComparison.Ordinal) ? 0 : Text.IndexOf("\ndata: ", StringComparison.Ordinal) + 1;
            start += "data: ".Length;
            var end = Text.IndexOfAny(['\r', '\n'], start);
            return Text[start..end];
        }
    }
}

/// <summary>The usage figures a worker reports for the request: what ISL, OSL and cached must read.</summary>
/// <param name="InputTokens">ISL (Anthropic: <c>input_tokens</c> + cache reads + cache writes).</param>
/// <param name="OutputTokens">OSL: the worker's completion tokens for the whole request.</param>
/// <param name="CachedTokens">Prefix-cache hits, or <c>null</c> when the worker does not report them.</param>
public sealed record WorkerUsage(int InputTokens, int OutputTokens, int? CachedTokens);

/// <summary>
/// A worker's SSE body, event by event, with what a client that did not ask for usage must receive
/// and the figures the metrics must end with.
/// </summary>
public sealed class WorkerStream(IEnumerable<WorkerEvent> events, WorkerUsage? usage)
{
    public IReadOnlyList<WorkerEvent> Events { get; } = [.. events];

    /// <summary>The usage the worker reports, or <c>null</c> when the stream carries none (the meter's live count is all there is).</summary>
    public WorkerUsage? Usage { get; } = usage;

    /// <summary>The body exactly as the worker sends it.</summary>
    public string Body => string.Concat(Events.Select(e => e.Text));

    public byte[] Bytes => Encoding.UTF8.GetBytes(Body);

    /// <summary>What a client that did not ask for usage must receive: the body without its usage-only chunks (SPEC §1.4).</summary>
    public string BodyWithoutUsage => Join(Events.Where(e => e.Kind != WorkerEventKind.UsageOnly));

    /// <summary>The events of these kinds, in stream order, concatenated.</summary>
    public string Join(params WorkerEventKind[] kinds) => Join(Events.Where(e => kinds.Contains(e.Kind)));

    /// <summary>The texts of the events of one kind, in stream order.</summary>
    public IReadOnlyList<string> Texts(WorkerEventKind kind) => [.. Events.Where(e => e.Kind == kind).Select(e => e.Text)];

    /// <summary>The same events with every line ending written as <paramref name="lineEnd"/> (JSON payloads hold no raw line breaks).</summary>
    public WorkerStream WithLineEnd(string lineEnd) =>
        new(Events.Select(e => e with { Text = e.Text.Replace("\n", lineEnd, StringComparison.Ordinal) }), Usage);

    private static string Join(IEnumerable<WorkerEvent> events) => string.Concat(events.Select(e => e.Text));
}

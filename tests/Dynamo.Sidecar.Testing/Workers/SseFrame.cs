namespace Dynamo.Sidecar.Testing.Workers;

/// <summary>SSE framing as the workers write it: one <c>data:</c> line, then a blank line.</summary>
public static class SseFrame
{
    public static string Event(string data, string lineEnd = "\n") => "data: " + data + lineEnd + lineEnd;

    /// <summary>An event with an <c>event:</c> line before its data (Anthropic, the Responses API).</summary>
    public static string Named(string name, string data, string lineEnd = "\n") => "event: " + name + lineEnd + Event(data, lineEnd);

    public static string Done(string lineEnd = "\n") => Event("[DONE]", lineEnd);
}

/// <summary>Collects a stream's events as a builder writes them.</summary>
internal sealed class EventList : List<WorkerEvent>
{
    public void Data(WorkerEventKind kind, string data) => Add(new WorkerEvent(kind, SseFrame.Event(data)));

    public void Named(WorkerEventKind kind, string name, string data) => Add(new WorkerEvent(kind, SseFrame.Named(name, data)));

    public void Done() => Add(new WorkerEvent(WorkerEventKind.Done, SseFrame.Done()));
}

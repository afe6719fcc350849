namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>Builds vLLM-shaped streamed chunks and SSE events for scripted workers.</summary>
internal static class Chunks
{
    public static string Chat(string model, string choices, string usage = "null") =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"{{model}}","choices":{{choices}},"usage":{{usage}}}""";

    public static string Text(string model, string choices, string usage = "null") =>
        $$"""{"id":"cmpl-1","object":"text_completion","created":1730000000,"model":"{{model}}","choices":{{choices}},"usage":{{usage}}}""";

    /// <summary>One chat choice; <paramref name="delta"/> is the delta object's JSON.</summary>
    public static string Choice(int index, string delta, string finish = "null") =>
        $$"""{"index":{{index}},"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}""";

    public static string Content(string text) => $$"""{"content":"{{text}}"}""";

    public static string TextChoice(int index, string text, string finish = "null") =>
        $$"""{"index":{{index}},"text":"{{text}}","logprobs":null,"finish_reason":{{finish}},"stop_reason":null}""";

    public static string Usage(int prompt, int completion, int? cached = null)
    {
        var details = cached is null ? string.Empty : $",\"prompt_tokens_details\":{{\"cached_tokens\":{cached}}}";
        return $$"""{"prompt_tokens":{{prompt}},"total_tokens":{{prompt + completion}},"completion_tokens":{{completion}}{{details}}}""";
    }

    public static string Event(string data, string lineEnd = "\n") => $"data: {data}{lineEnd}{lineEnd}";

    public static string Done(string lineEnd = "\n") => Event("[DONE]", lineEnd);
}

namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>The API shapes the soak sends; each is metered by the sidecar.</summary>
internal enum RequestKind
{
    ChatStream,
    CompletionStream,
    ResponsesStream,
    ChatUnary,
    CompletionUnary,
    ResponsesUnary,
    Embeddings,
}

/// <summary>What goes wrong with a request, on purpose.</summary>
internal enum Fault
{
    None,

    /// <summary>The worker answers <see cref="SoakRequest.Status"/> (<c>x-sim-fault: status=S</c>).</summary>
    Status,

    /// <summary>The worker drops the connection after <see cref="SoakRequest.FaultAfter"/> tokens.</summary>
    WorkerCut,

    /// <summary>The worker goes silent after <see cref="SoakRequest.FaultAfter"/> tokens; the sidecar's activity timeout ends it.</summary>
    WorkerStall,

    /// <summary>The client leaves after <see cref="SoakRequest.FaultAfter"/> content tokens.</summary>
    ClientDisconnect,
}

/// <summary>
/// One planned request. Its <see cref="Model"/> names its accounting group, so the sidecar's per-model
/// <c>output_tokens_total</c> and the worker's per-model sent tokens can be compared group by group:
/// <see cref="CleanModel"/> (every token reaches the client), <see cref="WorkerFaultModel"/> (the worker cut or
/// stalled: the sidecar saw every token the worker sent, the client may have lost the last ones with the
/// connection) and <see cref="DisconnectModel"/> (the client left: tokens in flight when it did are counted by the
/// worker, perhaps by the sidecar, never by the client).
/// </summary>
internal sealed record SoakRequest(
    RequestKind Kind,
    int MaxTokens,
    int Choices,
    bool IncludeUsage,
    bool ContinuousUsage,
    double TokensPerSecond,
    int TimeToFirstTokenMs,
    Fault Fault,
    int Status,
    int FaultAfter,
    bool CompareBytes)
{
    public const string CleanModel = "soak-clean";
    public const string WorkerFaultModel = "soak-worker-fault";
    public const string DisconnectModel = "soak-disconnect";

    public bool IsStream => Kind is RequestKind.ChatStream or RequestKind.CompletionStream or RequestKind.ResponsesStream;

    public string Model => Fault switch
    {
        Fault.WorkerCut or Fault.WorkerStall => WorkerFaultModel,
        Fault.ClientDisconnect => DisconnectModel,
        _ => CleanModel,
    };

    public string Path => Kind switch
    {
        RequestKind.ChatStream or RequestKind.ChatUnary => "/v1/chat/completions",
        RequestKind.CompletionStream or RequestKind.CompletionUnary => "/v1/completions",
        RequestKind.ResponsesStream or RequestKind.ResponsesUnary => "/v1/responses",
        _ => "/v1/embeddings",
    };

    /// <summary>The sidecar's <c>error_type</c> this request must end with; empty for success.</summary>
    public string ExpectedErrorType => Fault switch
    {
        Fault.Status => Status switch
        {
            429 => "overload",
            503 => "unavailable",
            >= 500 => "internal",
            _ => "validation",
        },
        Fault.WorkerCut => "internal",
        Fault.WorkerStall => "response_timeout",
        Fault.ClientDisconnect => "cancelled",
        _ => "",
    };

    /// <summary>The request body. The prompt is fixed text: only its size matters to the worker.</summary>
    public string Body(string prompt)
    {
        var model = Model;
        var stream = IsStream ? "true" : "false";
        var streamOptions = IncludeUsage
            ? $$""","stream_options":{"include_usage":true{{(ContinuousUsage ? ",\"continuous_usage_stats\":true" : "")}}}"""
            : "";
        return Kind switch
        {
            RequestKind.ChatStream or RequestKind.ChatUnary =>
                $$"""{"model":"{{model}}","stream":{{stream}}{{streamOptions}},"max_tokens":{{MaxTokens}},"n":{{Choices}},"messages":[{"role":"user","content":"{{prompt}}"}]}""",
            RequestKind.CompletionStream or RequestKind.CompletionUnary =>
                $$"""{"model":"{{model}}","stream":{{stream}}{{streamOptions}},"max_tokens":{{MaxTokens}},"prompt":"{{prompt}}"}""",
            RequestKind.ResponsesStream or RequestKind.ResponsesUnary =>
                $$"""{"model":"{{model}}","stream":{{stream}},"max_output_tokens":{{MaxTokens}},"input":"{{prompt}}"}""",
            _ => $$"""{"model":"{{model}}","input":["{{prompt}}","{{prompt}}"]}""",
        };
    }
}

namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>What the client saw of one request.</summary>
internal sealed class RequestResult(SoakRequest request)
{
    public SoakRequest Request { get; } = request;

    /// <summary>HTTP status, or 0 when no response arrived.</summary>
    public int Status { get; set; }

    /// <summary>Output tokens the client saw arrive: one per choice carrying text in a chunk (streams).</summary>
    public int ContentTokens { get; set; }

    /// <summary>The final <c>completion_tokens</c> (responses: <c>output_tokens</c>) the response reported, if any.</summary>
    public int? UsageTokens { get; set; }

    public bool SawUsageChunk { get; set; }

    /// <summary>The stream's proper end: <c>data: [DONE]</c>, or <c>response.completed</c> for the Responses API.</summary>
    public bool EndedWell { get; set; }

    /// <summary>Events after the stream's end, or data that is neither JSON nor <c>[DONE]</c>.</summary>
    public bool Malformed { get; set; }

    /// <summary>The body as received, for byte comparison (only when the request asks for it).</summary>
    public byte[]? Body { get; set; }

    public long BodyBytes { get; set; }

    /// <summary>A non-200 answer carried an OpenAI-style error body (<c>"object":"error"</c>) with its status as <c>code</c>.</summary>
    public bool ErrorBodyMatchesStatus { get; set; }

    public string? TransportError { get; set; }

    public bool ClientLeft { get; set; }

    /// <summary>Tokens the client can vouch for: what it counted arrive on a stream, the usage of a unary answer.</summary>
    public int CountedTokens => Request.IsStream ? ContentTokens : UsageTokens ?? 0;
}

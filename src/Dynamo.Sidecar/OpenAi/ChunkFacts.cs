namespace Dynamo.Sidecar.OpenAi;

/// <summary>What the meter needs from one streamed chunk or event, read without allocating.</summary>
internal struct ChunkFacts
{
    /// <summary>Choices in this chunk that carry generated output (responses, messages: 1 for an output delta event).</summary>
    public int OutputChoices;

    /// <summary>
    /// The <c>index</c> of the chunk's only choice (0 when it has none), or -1 when the chunk has no choice or several:
    /// with <c>n &gt; 1</c> a per-chunk usage counts that one choice's tokens.
    /// </summary>
    public int ChoiceIndex;

    /// <summary>A choice finished (a non-empty <c>finish_reason</c>) or the response completed: the stream may end well after this.</summary>
    public bool Finished;

    /// <summary><c>"choices": []</c> with a non-null usage: the chunk <c>include_usage</c> adds at the end.</summary>
    public bool IsUsageOnly;

    /// <summary>
    /// <see cref="Usage"/> is the whole request's so far and replaces any earlier one (responses' <c>response.completed</c>,
    /// messages' <c>message_start</c> and <c>message_delta</c>), rather than one choice's running count.
    /// </summary>
    public bool UsageIsRequestTotal;

    /// <summary>
    /// The chunk reports an error inside the stream: the HTTP status it stands for (from its code, else its type, SPEC §2);
    /// 0 when the chunk is no error.
    /// </summary>
    public int ErrorStatusCode;

    /// <summary>Usage carried by the chunk (cumulative with <c>continuous_usage_stats</c>), or <see cref="Usage.None"/>.</summary>
    public Usage Usage;

    /// <summary>Facts of a chunk that says nothing.</summary>
    public static ChunkFacts None => new() { ChoiceIndex = -1, Usage = Usage.None };
}

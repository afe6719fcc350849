namespace Dynamo.Sidecar.OpenAi;

/// <summary>What the meter needs from one streamed chunk or event, read without allocating.</summary>
internal struct ChunkFacts
{
    /// <summary>Choices in this chunk that carry generated output (responses: 1 for an output delta event).</summary>
    public int OutputChoices;

    /// <summary>A choice finished (<c>finish_reason</c>) or the response completed: the stream may end well after this.</summary>
    public bool Finished;

    /// <summary><c>"choices": []</c> with a non-null usage: the chunk <c>include_usage</c> adds at the end.</summary>
    public bool IsUsageOnly;

    /// <summary>Usage carried by the chunk (cumulative with <c>continuous_usage_stats</c>), or <see cref="Usage.None"/>.</summary>
    public Usage Usage;
}

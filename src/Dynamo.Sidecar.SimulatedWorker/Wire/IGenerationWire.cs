namespace Dynamo.Sidecar.SimulatedWorker.Wire;

/// <summary>
/// The bytes of one API's response. The engine decides when things happen (prefill, each decode step, the end);
/// the wire decides what they look like.
/// </summary>
internal interface IGenerationWire
{
    /// <summary>Events sent as soon as the request is accepted, before prefill.</summary>
    ValueTask WriteStreamStartAsync(CancellationToken cancellationToken);

    /// <summary>Events sent once prefill is done, just before the first token.</summary>
    ValueTask WriteOutputStartAsync(CancellationToken cancellationToken);

    /// <param name="choice">Which of the request's <c>n</c> choices the token belongs to.</param>
    /// <param name="position">The token's 0-based position within its choice.</param>
    /// <param name="isLast">Whether this is the choice's final token.</param>
    /// <param name="generatedSoFar">Tokens emitted over all choices, including this one.</param>
    /// <param name="cancellationToken">The request's abort token.</param>
    ValueTask WriteTokenAsync(int choice, int position, bool isLast, int generatedSoFar, CancellationToken cancellationToken);

    /// <summary>Events that close the stream once every choice is complete.</summary>
    ValueTask WriteStreamEndAsync(int generatedTokens, CancellationToken cancellationToken);

    /// <summary>The whole non-streaming response body.</summary>
    void WriteUnary(PooledByteBuffer output);
}

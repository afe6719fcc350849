using System.Globalization;

namespace Dynamo.Sidecar.SimulatedWorker.Faults;

/// <summary>What a faulty worker does to one request.</summary>
internal enum FaultKind
{
    None,

    /// <summary>Drops the connection after <see cref="SimulatedFault.Value"/> output tokens, as a worker process that dies.</summary>
    Cut,

    /// <summary>Stops sending after <see cref="SimulatedFault.Value"/> output tokens and keeps the connection open until the client leaves.</summary>
    Stall,

    /// <summary>Answers with HTTP status <see cref="SimulatedFault.Value"/> and an OpenAI-style error body instead of generating.</summary>
    Status,
}

/// <summary>
/// A fault a request asks the simulated worker to commit, from its <c>x-sim-fault</c> header, so soak and
/// integration tests can make a healthy worker misbehave one request at a time:
/// <c>cut-after=N</c> (drop the connection after N output tokens, no <c>[DONE]</c>),
/// <c>stall-after=N</c> (send nothing after N output tokens, keep the connection open),
/// <c>status=S</c> (answer S, 400 to 599, with a vLLM error body).
/// N counts output tokens over all choices; a unary answer is sent whole at the end, so any N below its
/// length means nothing is sent. An N at or past the output length never fires.
/// </summary>
internal readonly record struct SimulatedFault(FaultKind Kind, int Value)
{
    public const string Header = "x-sim-fault";

    /// <summary>Whether the fault fires once <paramref name="sentTokens"/> output tokens have been sent.</summary>
    public bool FiresAt(int sentTokens) => Kind is FaultKind.Cut or FaultKind.Stall && sentTokens == Value;

    /// <exception cref="BadHttpRequestException">The header is present but not one of the forms above.</exception>
    public static SimulatedFault Resolve(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(Header, out var values))
        {
            return default;
        }

        var text = values.ToString();
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var kind = equals < 0 ? FaultKind.None : text[..equals] switch
        {
            "cut-after" => FaultKind.Cut,
            "stall-after" => FaultKind.Stall,
            "status" => FaultKind.Status,
            _ => FaultKind.None,
        };
        if (kind == FaultKind.None
            || !int.TryParse(text.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || (kind == FaultKind.Status && value is < 400 or > 599))
        {
            throw new BadHttpRequestException($"{Header} must be cut-after=N, stall-after=N or status=S (S from 400 to 599).");
        }

        return new SimulatedFault(kind, value);
    }
}

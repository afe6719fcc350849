namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>
/// Draws the soak's requests from one seeded generator per lane, so a lane sends the same sequence on every run
/// with the same seed (how many it gets through depends on the machine).
/// </summary>
internal sealed class RequestMix(int seed, int lane)
{
    // Streams dominate, as in LLM serving; every metered endpoint appears.
    private static readonly (RequestKind Kind, int Weight)[] Kinds =
    [
        (RequestKind.ChatStream, 30), (RequestKind.CompletionStream, 14), (RequestKind.ResponsesStream, 5),
        (RequestKind.ChatUnary, 10), (RequestKind.CompletionUnary, 4), (RequestKind.ResponsesUnary, 3), (RequestKind.Embeddings, 8),
    ];

    private static readonly int[] Statuses = [400, 429, 500, 503];

    private static readonly int TotalWeight = Kinds.Sum(k => k.Weight);

    private readonly Random _random = new(HashCode.Combine(seed, lane));

    public SoakRequest Next()
    {
        var kind = PickKind();
        var isStream = kind is RequestKind.ChatStream or RequestKind.CompletionStream or RequestKind.ResponsesStream;
        var maxTokens = _random.Next(1, 121);
        var choices = kind is RequestKind.ChatStream or RequestKind.ChatUnary && _random.NextDouble() < 0.1 ? 2 : 1;
        var usage = kind is RequestKind.ChatStream or RequestKind.CompletionStream && _random.NextDouble() < 0.4;
        var continuous = usage && _random.NextDouble() < 0.33;
        var pace = _random.NextDouble();
        double rate;
        if (pace < 0.2)
        {
            // Slow streams: a few tokens per second for several seconds.
            rate = _random.Next(3, 11);
            maxTokens = Math.Min(maxTokens, 30);
        }
        else
        {
            rate = pace < 0.3 ? 0 : _random.Next(20, 101);
        }

        if (!isStream && rate > 0)
        {
            // A unary answer is silent until it is whole: it must come within the sidecar's activity timeout
            // (2 s in the soak), or the sidecar rightly answers 504. Generation under half a second leaves
            // 1.5 s for a loaded CI machine.
            maxTokens = Math.Max(1, Math.Min(maxTokens, (int)rate / 2));
        }

        var ttft = _random.Next(0, 101);
        var fault = Fault.None;
        var status = 0;
        var faultAfter = 0;
        var roll = _random.NextDouble();
        var total = maxTokens * choices;
        if (roll < 0.05)
        {
            fault = Fault.Status;
            status = Statuses[_random.Next(Statuses.Length)];
        }
        else if (isStream && roll < 0.09)
        {
            fault = Fault.WorkerCut;
            faultAfter = _random.Next(0, total);
        }
        else if (isStream && roll < 0.11)
        {
            fault = Fault.WorkerStall;
            faultAfter = _random.Next(0, total);
        }
        else if (isStream && roll < 0.21)
        {
            // Paced and long enough that the stream is still going, with 20 tokens (1 s) to spare, when the
            // client leaves: the sidecar must see a disconnect, not a stream that happened to end first.
            fault = Fault.ClientDisconnect;
            rate = 20;
            maxTokens = Math.Max(maxTokens, 30);
            total = maxTokens * choices;
            faultAfter = _random.Next(1, total - 19);
        }
        else if (kind is RequestKind.ChatUnary or RequestKind.CompletionUnary or RequestKind.ResponsesUnary && roll < 0.06)
        {
            // A worker that never answers a unary request: the sidecar gives up at its activity timeout.
            fault = Fault.WorkerStall;
        }

        var compareBytes = kind == RequestKind.ChatStream && fault == Fault.None && !usage && _random.NextDouble() < 0.125;
        return new SoakRequest(kind, maxTokens, choices, usage, continuous, rate, ttft, fault, status, faultAfter, compareBytes);
    }

    private RequestKind PickKind()
    {
        var pick = _random.Next(TotalWeight);
        foreach (var (kind, weight) in Kinds)
        {
            if (pick < weight)
            {
                return kind;
            }

            pick -= weight;
        }

        throw new InvalidOperationException("unreachable: weights sum to TotalWeight");
    }
}

namespace Dynamo.Sidecar.SoakTool.Traffic;

/// <summary>What the clients sent and saw, summed over the run; filled by every lane at once.</summary>
internal sealed class TrafficTally
{
    private const int KeptProblems = 10;

    private readonly Lock _lock = new();
    private readonly List<string> _problems = [];

    public int Requests { get; private set; }
    public int Problems { get; private set; }
    public Dictionary<RequestKind, int> ByKind { get; } = [];
    public Dictionary<string, int> ByFault { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests by the sidecar <c>error_type</c> each must end with ("" = success).</summary>
    public Dictionary<string, int> ByExpectedErrorType { get; } = new(StringComparer.Ordinal);

    /// <summary>Tokens the clients counted, by accounting group (the request's model).</summary>
    public Dictionary<string, long> ClientTokens { get; } = new(StringComparer.Ordinal);

    public long BytesReceived { get; private set; }
    public int StreamsCompared { get; private set; }
    public long BytesCompared { get; private set; }
    public int ClientDisconnects { get; private set; }

    public IReadOnlyList<string> FirstProblems => _problems;

    public void Add(RequestResult result, string? comparisonProblem)
    {
        var plan = result.Request;
        var problem = Validate(result) ?? comparisonProblem;
        lock (_lock)
        {
            Requests++;
            ByKind[plan.Kind] = ByKind.GetValueOrDefault(plan.Kind) + 1;
            var fault = plan.Fault switch
            {
                Fault.Status => $"status {plan.Status}",
                Fault.WorkerStall when !plan.IsStream => "worker stall (unary)",
                Fault.WorkerStall => "worker stall",
                Fault.WorkerCut => "worker cut",
                Fault.ClientDisconnect => "client disconnect",
                _ => plan.TokensPerSecond is > 0 and < 20 ? "none (slow stream)" : "none",
            };
            ByFault[fault] = ByFault.GetValueOrDefault(fault) + 1;
            ByExpectedErrorType[plan.ExpectedErrorType] = ByExpectedErrorType.GetValueOrDefault(plan.ExpectedErrorType) + 1;
            ClientTokens[plan.Model] = ClientTokens.GetValueOrDefault(plan.Model) + result.CountedTokens;
            BytesReceived += result.BodyBytes;
            ClientDisconnects += result.ClientLeft ? 1 : 0;
            if (plan.CompareBytes && result.Body is { } body)
            {
                StreamsCompared++;
                BytesCompared += body.Length;
            }

            if (problem is not null)
            {
                Problems++;
                if (_problems.Count < KeptProblems)
                {
                    _problems.Add($"{plan}: status {result.Status}, tokens {result.ContentTokens}, usage {result.UsageTokens}, ended well {result.EndedWell}, error {result.TransportError}: {problem}");
                }
            }
        }
    }

    /// <summary>What the client must have seen, given what was injected; null when it did.</summary>
    private static string? Validate(RequestResult r)
    {
        var plan = r.Request;
        var total = plan.Kind == RequestKind.Embeddings ? 0 : plan.MaxTokens * plan.Choices;
        switch (plan.Fault)
        {
            case Fault.Status:
                return r.Status != plan.Status ? $"expected the injected status {plan.Status}"
                    : !r.ErrorBodyMatchesStatus ? "expected the worker's error body, passed through"
                    : null;
            case Fault.WorkerCut or Fault.WorkerStall when plan.IsStream:
                // A text completion stream sends no byte before its first token, so after a fault at 0 the
                // sidecar's response has not started and YARP answers 502 itself (for a stall too; the sidecar's
                // books still say response_timeout, which the error_type checks hold it to).
                var unstarted = plan.Kind == RequestKind.CompletionStream && plan.FaultAfter == 0 && r.Status == 502;
                // When the worker's reset reaches the proxy together with its first bytes, YARP has already handed those
                // bytes (and the 200) to Kestrel, then aborts the client connection, and Kestrel may drop output it has
                // not yet sent: the client sees a reset before any header (about 1 cut in 500 on a busy machine). Either way
                // the client learns the stream failed, and the books (checked below) say internal.
                var resetBeforeHeaders = plan.Fault == Fault.WorkerCut && r.Status == 0 && r.TransportError is not null && r.ContentTokens == 0;
                return r.Status != 200 && !unstarted && !resetBeforeHeaders ? "a cut or stalled stream must start as 200, or fail before its first byte (502 or a reset)"
                    : r.EndedWell ? "a cut or stalled stream must not end well"
                    : r.ContentTokens > plan.FaultAfter ? "more tokens than the worker sent"
                    : null;
            case Fault.WorkerStall:
                return r.Status == 504 ? null : "a unary request the worker never answers must end in 504";
            case Fault.ClientDisconnect:
                return r.ClientLeft && !r.EndedWell ? null : "the client should have left mid-stream";
        }

        if (r.Status != 200 || r.TransportError is not null || !r.EndedWell || r.Malformed)
        {
            return "a clean request must end well";
        }

        if (!plan.IsStream)
        {
            return r.UsageTokens == total ? null : $"usage should report {total} tokens";
        }

        if (r.ContentTokens != total)
        {
            return $"the stream should carry {total} tokens";
        }

        return plan.Kind switch
        {
            RequestKind.ResponsesStream => r.UsageTokens == total ? null : "response.completed should report every token",
            _ when plan.IncludeUsage => r.SawUsageChunk && r.UsageTokens == total ? null : "the usage chunk the client asked for is missing or wrong",
            _ => r.SawUsageChunk ? "a usage chunk reached a client that did not ask for it" : null,
        };
    }
}

using System.Globalization;
using Dynamo.Sidecar.SimulatedWorker.Options;

namespace Dynamo.Sidecar.SimulatedWorker.Generation;

/// <summary>When each decode step of one request is due, relative to the moment the request was admitted.</summary>
internal readonly record struct Pacing(double TokensPerSecond, TimeSpan TimeToFirstToken)
{
    public const string TokensPerSecondHeader = "x-sim-tokens-per-second";
    public const string TimeToFirstTokenHeader = "x-sim-ttft-ms";

    /// <summary>Step 0 waits out the prefill; step k follows k / rate seconds later. A rate of 0 never waits after prefill.</summary>
    public TimeSpan DueTime(int step) => TokensPerSecond == 0
        ? TimeToFirstToken
        : TimeToFirstToken + TimeSpan.FromSeconds(step / TokensPerSecond);

    /// <summary>The configured pacing, overridden per request by the optional <c>x-sim-*</c> headers.</summary>
    /// <exception cref="BadHttpRequestException">A header is present but not a non-negative number.</exception>
    public static Pacing Resolve(WorkerOptions options, IHeaderDictionary headers)
    {
        var tokensPerSecond = options.TokensPerSecond;
        if (headers.TryGetValue(TokensPerSecondHeader, out var rate)
            && (!double.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out tokensPerSecond)
                || !double.IsFinite(tokensPerSecond) || tokensPerSecond < 0))
        {
            throw new BadHttpRequestException($"{TokensPerSecondHeader} must be a non-negative number.");
        }

        var ttftMs = options.TimeToFirstTokenMs;
        if (headers.TryGetValue(TimeToFirstTokenHeader, out var ttft)
            && !int.TryParse(ttft, NumberStyles.None, CultureInfo.InvariantCulture, out ttftMs))
        {
            throw new BadHttpRequestException($"{TimeToFirstTokenHeader} must be a non-negative integer.");
        }

        return new Pacing(tokensPerSecond, TimeSpan.FromMilliseconds(ttftMs));
    }
}

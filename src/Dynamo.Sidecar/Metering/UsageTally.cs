using System.Runtime.CompilerServices;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Metering;

/// <summary>
/// Adds up what one request's chunks say about its tokens (SPEC §2, token accounting): how many output tokens
/// each content chunk carries, and the request's final input, cached, output and reasoning figures.
/// <list type="bullet">
/// <item>A per-chunk usage (<c>continuous_usage_stats</c>) is a running count, and counts as one only while it grows:
/// Ollama writes zeros on every chunk, and those chunks count one token per choice with output. With <c>n &gt; 1</c>
/// each chunk carries one choice and vLLM's count is that choice's own (<c>previous_num_tokens[i]</c>), so running counts
/// are kept per choice index (the first <see cref="TrackedChoices"/>; beyond them, one token per choice). Workers that
/// write the request's running count on every choice's chunk instead are counted exactly too. A chunk with
/// several choices and a usage makes the counts the request's.</item>
/// <item>Usage-only chunks (<c>include_usage</c>; llama.cpp writes one per choice) add up their output; their input and
/// cached figures are the request's, once.</item>
/// <item>A request-total usage (responses, messages, unary bodies) replaces any earlier one.</item>
/// </list>
/// A mutable struct kept in its <see cref="RequestMeter"/>: counting allocates nothing.
/// </summary>
internal struct UsageTally
{
    public const int TrackedChoices = 16;

    // Per choice index: tokens counted live, and the highest running count the worker reported.
    private PerChoice _live;
    private PerChoice _reported;

    // Running counts are the request's (set by a chunk with several choices and a usage).
    private bool _requestLevel;

    // Per-choice running counts: vLLM's count is the choice's own, while other workers write the request's running
    // count on every choice's chunk. Only per-choice counts can grow for one choice while staying at or below a count
    // already seen for another; until that shows, _highestReported (never more than the request's output, whichever
    // the worker meant) bounds what a chunk may add.
    private bool _perChoiceCounts;
    private long _highestReported;
    private long _reportedSum;

    private long _usageOnlyCompletion = -1;
    private long _usageOnlyReasoning = -1;
    private long _requestTotalCompletion = -1;
    private long _prompt = -1;
    private long _cached = -1;
    private long _reasoning = -1;

    public UsageTally()
    {
    }

    /// <summary>Output tokens counted live so far (what <c>output_tokens_total</c> has been given).</summary>
    public long LiveTokens { readonly get; private set; }

    /// <summary>The request's output tokens as the worker reported them; -1 when it reported none.</summary>
    /// <remarks>
    /// A request total may be a stale "so far" (messages' <c>message_start</c> says 0 or 1) when the stream was cut
    /// before the final one; each delta event is at least one token, so then the live count is closer to the truth.
    /// </remarks>
    public readonly long Completion =>
        _usageOnlyCompletion >= 0 ? _usageOnlyCompletion
        : _requestTotalCompletion >= 0 ? Math.Max(_requestTotalCompletion, LiveTokens)
        : _highestReported > 0 ? Math.Max(_perChoiceCounts ? _reportedSum : _highestReported, LiveTokens)
        : -1;

    /// <summary>The request's output: the worker's figure, else (no usage at all) the tokens that passed.</summary>
    public readonly long Output => Completion >= 0 ? Completion : LiveTokens;

    public readonly long Prompt => _prompt;

    public readonly long Cached => _cached;

    public readonly long Reasoning => _usageOnlyReasoning >= 0 ? _usageOnlyReasoning : _reasoning;

    /// <summary>Takes one chunk's usage into account.</summary>
    /// <returns>The output tokens the chunk carries when it is a content chunk; 0 otherwise.</returns>
    public long OnChunk(in ChunkFacts chunk)
    {
        var tokens = (long)chunk.OutputChoices;
        var usage = chunk.Usage;
        if (usage.IsReported)
        {
            RememberInput(usage);
            if (chunk.IsUsageOnly)
            {
                _usageOnlyCompletion = AddReported(_usageOnlyCompletion, usage.CompletionTokens);
                _usageOnlyReasoning = AddReported(_usageOnlyReasoning, usage.ReasoningTokens);
            }
            else if (chunk.UsageIsRequestTotal)
            {
                OnRequestTotal(usage);
            }
            else
            {
                _reasoning = usage.ReasoningTokens >= 0 ? usage.ReasoningTokens : _reasoning;
                if (TryAdvanceRunningCount(chunk.ChoiceIndex, usage.CompletionTokens, out var grown) && chunk.OutputChoices > 0)
                {
                    tokens = grown;
                }
            }
        }

        if (tokens > 0)
        {
            Credit(chunk.ChoiceIndex, tokens);
        }

        return tokens;
    }

    /// <summary>The usage of a whole response (a unary body).</summary>
    public void OnRequestTotal(Usage usage)
    {
        RememberInput(usage);
        _requestTotalCompletion = usage.CompletionTokens >= 0 ? usage.CompletionTokens : _requestTotalCompletion;
        _reasoning = usage.ReasoningTokens >= 0 ? usage.ReasoningTokens : _reasoning;
    }

    private void RememberInput(in Usage usage)
    {
        _prompt = usage.PromptTokens >= 0 ? usage.PromptTokens : _prompt;
        _cached = usage.CachedTokens >= 0 ? usage.CachedTokens : _cached;
    }

    /// <returns>True when <paramref name="completion"/> grew the running count; <paramref name="tokens"/> is then what it adds to the live count.</returns>
    private bool TryAdvanceRunningCount(int choiceIndex, long completion, out long tokens)
    {
        tokens = 0;
        _requestLevel |= choiceIndex < 0;
        if (_requestLevel)
        {
            if (completion <= _highestReported)
            {
                return false;
            }

            tokens = Math.Max(0, completion - LiveTokens);
            _highestReported = completion;
            return true;
        }

        if (choiceIndex >= TrackedChoices || completion <= _reported[choiceIndex])
        {
            return false;
        }

        _perChoiceCounts |= completion <= _highestReported;
        var sinceChoice = Math.Max(0, completion - _live[choiceIndex]);
        // Until the counts show they are per choice, a chunk with output adds at least one token and, when the count
        // is the request's, exactly what it grew by: the smaller reading never overshoots either way.
        tokens = _perChoiceCounts ? sinceChoice : Math.Min(sinceChoice, Math.Max(1, completion - _highestReported));
        _reportedSum = Saturating(_reportedSum, completion - _reported[choiceIndex]);
        _reported[choiceIndex] = completion;
        _highestReported = Math.Max(_highestReported, completion);
        return true;
    }

    private void Credit(int choiceIndex, long tokens)
    {
        // Saturate: a worker reporting an absurd count must not wrap the live count negative.
        LiveTokens = Saturating(LiveTokens, tokens);
        if (!_requestLevel && choiceIndex is >= 0 and < TrackedChoices)
        {
            _live[choiceIndex] = Saturating(_live[choiceIndex], tokens);
        }
    }

    private static long AddReported(long total, long reported) =>
        reported < 0 ? total : Saturating(Math.Max(total, 0), reported);

    private static long Saturating(long total, long add) => add > long.MaxValue - total ? long.MaxValue : total + add;

    [InlineArray(TrackedChoices)]
    private struct PerChoice
    {
        private long _element;
    }
}

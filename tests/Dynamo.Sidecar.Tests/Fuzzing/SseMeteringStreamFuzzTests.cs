using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Sse;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Seeded fuzzing of the whole metered SSE path (<see cref="SseMeteringStream"/> + <see cref="StreamedResponseMeter"/>
/// + <see cref="RequestMeter"/>) against <see cref="SseOracle"/>. Each case runs the same body twice, with
/// <c>removeUsageChunk</c> false and true, through random upstream pieces and random client reads (zero-byte
/// reads included). A failure names the seed and the case index: <c>Fuzz.CaseRandom(seed, index)</c> rebuilds it.
/// </summary>
public class SseMeteringStreamFuzzTests
{
    private static readonly VllmStream ChatChunks = new(MeteredStream.Model);

    private const int ReadSize = SseMeteringStream.ReadSize;
    private const int LargeCap = 1024 * 1024;

    internal const int RealisticCases = 1_500;
    internal const int ResponsesCases = 500;
    internal const int SmallCapCases = 1_000;
    internal const int SoupCases = 1_000;
    internal const int LongStreamCases = 6;

    private static readonly int[] SmallCaps = [1024, 4096];

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void ChatAndCompletionStreams_RandomlyMutated_MatchTheOracle(int seed)
    {
        for (var i = 0; i < RealisticCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var endpoint = rng.Chance(0.7) ? MeteredEndpoint.ChatCompletions : MeteredEndpoint.Completions;
            RunCase(seed, i, rng, SseStreamGenerator.Realistic(rng, endpoint, mutate: rng.Chance(0.8)), LargeCap);
        }
    }

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void ResponsesStreams_RandomlyMutated_MatchTheOracle(int seed)
    {
        for (var i = 0; i < ResponsesCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            RunCase(seed, i, rng, SseStreamGenerator.Realistic(rng, MeteredEndpoint.Responses, mutate: rng.Chance(0.8)), LargeCap);
        }
    }

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void SmallEventCaps_EventsOverTheCapPassUnparsed(int seed)
    {
        for (var i = 0; i < SmallCapCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var cap = rng.Pick(SmallCaps);
            var endpoint = rng.Next(4) switch
            {
                0 => MeteredEndpoint.Completions,
                1 => MeteredEndpoint.Responses,
                _ => MeteredEndpoint.ChatCompletions,
            };
            RunCase(seed, i, rng, SseStreamGenerator.Realistic(rng, endpoint, mutate: rng.Chance(0.5), padAround: cap), cap);
        }
    }

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void TokenSoup_MatchesTheOracle(int seed)
    {
        for (var i = 0; i < SoupCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var cap = rng.Chance(0.3) ? rng.Next(8, 300) : LargeCap;
            RunCase(seed, i, rng, SseStreamGenerator.Soup(rng, rng.Chance(0.8) ? MeteredEndpoint.ChatCompletions : MeteredEndpoint.Responses), cap);
        }
    }

    /// <summary>
    /// Streams of hundreds of kilobytes in small events, so that property (d) bites: a stream that held more
    /// than one event plus one upstream read would exceed the bound long before the end.
    /// </summary>
    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void LongStreams_NeverHoldMoreThanOneEvent(int seed)
    {
        for (var i = 0; i < LongStreamCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, ~i);
            var endpoint = rng.Next(3) switch
            {
                0 => MeteredEndpoint.Completions,
                1 => MeteredEndpoint.Responses,
                _ => MeteredEndpoint.ChatCompletions,
            };
            var generated = SseStreamGenerator.Realistic(rng, endpoint, mutate: rng.Chance(0.5), contentChunks: rng.Next(500, 2500));
            Assert.InRange(generated.Bytes.Length, 64 * 1024, int.MaxValue);
            RunCase(seed, ~i, rng, generated, rng.Chance(0.5) ? LargeCap : 1024);
        }
    }

    /// <summary>SPEC §4 / §1.5: a usage-only chunk one byte over the cap is forwarded untouched and unparsed; at the cap it is removed.</summary>
    [Theory]
    [InlineData(1024, "\n")]
    [InlineData(1024, "\r\n")]
    [InlineData(4096, "\r")]
    [InlineData(4096, "\n")]
    public void UsageOnlyChunk_OverTheCap_IsForwardedUnparsed_AtTheCap_IsRemoved(int cap, string newline)
    {
        var before = SseText.Utf8(SseText.Events(newline, ChatChunks.Content("Hi"), ChatChunks.Finish()));
        var after = SseText.Utf8(SseText.Events(newline, "[DONE]"));
        foreach (var (size, removed) in new[] { (cap + 1, false), (cap + 100, false), (cap, true), (cap - 1, true) })
        {
            var usage = ChatChunks.UsageOnly(12, 5);
            var padding = size - "data: ".Length - usage.Length - (2 * newline.Length);
            var usageEvent = SseText.Utf8("data: " + new string(' ', padding) + usage + newline + newline);
            Assert.Equal(size, usageEvent.Length);
            byte[] input = [.. before, .. usageEvent, .. after];
            for (var piece = 1; piece <= 4096; piece *= 4)
            {
                using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(input, piece), removeUsageChunk: true, maxEventBytes: cap);
                var client = metered.ReadAllAndComplete(readSize: 1000);
                byte[] expected = removed ? [.. before, .. after] : input;
                Assert.True(expected.AsSpan().SequenceEqual(client), $"size {size}, pieces of {piece}: got {Fuzz.Show(client)}");
                var scrape = metered.Scrape();
                Assert.Equal(removed ? (1, 12) : (0, 0), scrape.Histogram("input_sequence_tokens"));
                Assert.Equal(removed ? 5 : 1, scrape.Value("output_tokens_total", ("model", "m")));
            }
        }
    }

    private static void RunCase(int seed, int index, Random rng, GeneratedStream generated, int cap)
    {
        var input = generated.Bytes;
        var events = SseOracle.Frame(input);
        var maxEvent = events.Count == 0 ? 0 : events.Max(e => e.Length);

        // Events the observer must see: all terminated ones up to the cap; the unterminated tail too when under it.
        var observed = events
            .Where(e => e.Length <= cap)
            .Select(e => (e, Optional: !e.Terminated && e.Length == cap))
            .ToList();

        foreach (var removeUsage in new[] { false, true })
        {
            var verdicts = events.Select(e => Verdict(e, removeUsage, generated.Endpoint, cap)).ToArray();
            RunOnce(new CaseContext(seed, index, removeUsage, cap, input), rng, generated, events, verdicts, observed, maxEvent);
        }
    }

    private static Removal Verdict(RefEvent e, bool removeUsage, MeteredEndpoint endpoint, int cap) =>
        removeUsage && endpoint != MeteredEndpoint.Responses && e.Terminated && e.Length <= cap ? SseOracle.UsageOnlyVerdict(e.Data) : Removal.Keep;

    private sealed record CaseContext(int Seed, int Index, bool RemoveUsage, int Cap, byte[] Input)
    {
        public string Describe(string what) =>
            $"seed {Seed}, case {Index} (Fuzz.CaseRandom({Seed}, {Index})), removeUsageChunk={RemoveUsage}, cap={Cap}: {what}\n" +
            $"input ({Input.Length} bytes): {Fuzz.Show(Input, 3000)}";
    }

    private static void RunOnce(CaseContext context, Random rng, GeneratedStream generated, List<RefEvent> events, Removal[] verdicts,
        List<(RefEvent Event, bool Optional)> observed, int maxEvent)
    {
        var input = context.Input;
        var failure = rng.Chance(0.1) ? new IOException("connection reset by the worker") : null;
        var time = new ManualTimeProvider();
        var metrics = MeteredStream.NewMetrics();
        var meter = new RequestMeter(metrics, time, MeteredStream.Model, generated.Endpoint, isStream: true);
        using var responseMeter = new StreamedResponseMeter(meter, context.RemoveUsage);
        var observer = new CheckingObserver(responseMeter, input, observed);
        var upstream = new FuzzUpstream(input, new Random(rng.Next()), failure, rng.Chance(0.5) ? input.Length : rng.Next(input.Length + 1));
        var output = new MemoryStream();
        var upstreamFailed = false;
        using (var stream = new SseMeteringStream(upstream, observer, meter, context.Cap))
        {
            var buffer = new byte[40_000];
            var reads = 0;
            while (true)
            {
                var size = NextReadSize(rng, buffer.Length);
                int read;
                try
                {
                    var pending = stream.ReadAsync(buffer.AsMemory(0, size));
                    read = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
                }
                catch (IOException e) when (ReferenceEquals(e, failure))
                {
                    upstreamFailed = true;
                    break;
                }
                catch (Exception e)
                {
                    Assert.Fail(context.Describe($"(a) the stream threw {e}"));
                    return;
                }

                output.Write(buffer, 0, read);

                // (d) Never more than one event held: pulled - handed out - removed <= largest event + one upstream read.
                var held = upstream.Pulled - output.Length - observer.RemovedBytes;
                var bound = maxEvent + ReadSize + observer.RemovedEvents;
                if (held > bound)
                {
                    Assert.Fail(context.Describe($"(d) holds {held} bytes after read #{reads} (bound {bound}: largest event {maxEvent})"));
                }

                if (read == 0 && size > 0)
                {
                    break;
                }

                time.Advance(TimeSpan.FromTicks(rng.Next(0, 200_000)));
                if (++reads > (4 * input.Length) + 1000)
                {
                    Assert.Fail(context.Describe("the stream never ends"));
                }
            }
        }

        var client = output.ToArray();
        if (!context.RemoveUsage && !upstreamFailed && !client.AsSpan().SequenceEqual(input))
        {
            Assert.Fail(context.Describe($"(b) client bytes differ from the worker's\nclient: {Fuzz.Show(client, 3000)}"));
        }

        if (!ExpectedOutput.Matches(input, events, verdicts, client, prefixOnly: upstreamFailed))
        {
            Assert.Fail(context.Describe($"(c) client bytes are not the input minus the usage-only events{(upstreamFailed ? " (a prefix of it)" : "")}\n" +
                ExpectedOutput.Explain(input, events, verdicts, client)));
        }

        if (observer.Failure is not null || (!upstreamFailed && !observer.SawAll))
        {
            Assert.Fail(context.Describe($"observer saw the wrong events: {observer.Failure ?? "not all of them"}"));
        }

        // (e) Ending the request never throws and releases every gauge.
        try
        {
            meter.Complete(upstreamFailed ? RequestOutcome.Internal : RequestOutcome.Success);
        }
        catch (Exception e)
        {
            Assert.Fail(context.Describe($"(e) RequestMeter.Complete threw {e}"));
        }

        AssertMetrics(context, metrics, generated, upstreamFailed);
    }

    private static void AssertMetrics(CaseContext context, SidecarMetrics metrics, GeneratedStream generated, bool upstreamFailed)
    {
        var scrape = MetricsScrape.Of(metrics.Registry);
        var model = ("model", MeteredStream.Model);
        foreach (var gauge in new[] { "inflight_requests", "active_requests", "queued_requests" })
        {
            if (scrape.ValueOrZero(gauge, model) != 0)
            {
                Assert.Fail(context.Describe($"(e) {gauge} is {scrape.ValueOrZero(gauge, model)} after Complete"));
            }
        }

        (string, string)[] request = [model, ("endpoint", generated.Endpoint.Label()), ("request_type", "stream")];
        var outcome = upstreamFailed ? RequestOutcome.Internal : RequestOutcome.Success;
        if (scrape.ValueOrZero("requests_total", [.. request, ("status", outcome.Status), ("error_type", outcome.ErrorType)]) != 1)
        {
            Assert.Fail(context.Describe("(e) requests_total was not counted once"));
        }

        var outputTokens = scrape.ValueOrZero("output_tokens_total", model);
        if (outputTokens < 0 || double.IsNaN(outputTokens))
        {
            Assert.Fail(context.Describe($"(e) output_tokens_total is {outputTokens}"));
        }

        // A pristine stream, read whole, meters exactly (SPEC §2 token accounting).
        if (generated.Pristine && !upstreamFailed && context.Cap == LargeCap)
        {
            var input = scrape.Histogram("input_sequence_tokens");
            var expectedInput = generated.PromptTokens is { } prompt ? (1d, (double)prompt) : (0d, 0d);
            if (outputTokens != generated.OutputTokens || input != expectedInput)
            {
                Assert.Fail(context.Describe($"(e) pristine stream metered output_tokens_total={outputTokens} (expected {generated.OutputTokens}), " +
                    $"input_sequence_tokens={input} (expected {expectedInput})"));
            }
        }
    }

    private static int NextReadSize(Random rng, int max) => rng.Next(12) switch
    {
        0 => 0,
        1 or 2 => rng.Next(1, 9),
        3 or 4 => rng.Next(1, 100),
        5 or 6 or 7 => rng.Next(1, 4097),
        _ => rng.Next(1, max + 1),
    };
}

/// <summary>Does the client's output equal the input minus the removed events?</summary>
internal static class ExpectedOutput
{
    public static bool Matches(byte[] input, List<RefEvent> events, Removal[] verdicts, byte[] output, bool prefixOnly)
    {
        var position = 0;
        for (var i = 0; i < events.Count; i++)
        {
            if (prefixOnly && position == output.Length)
            {
                return true;
            }

            if (verdicts[i] == Removal.Remove)
            {
                continue;
            }

            var bytes = input.AsSpan(events[i].Start, events[i].Length);
            if (!StartsWith(bytes, position))
            {
                return prefixOnly && IsPrefixOfEvent(bytes, position);
            }

            position += bytes.Length;
        }

        return position == output.Length;

        bool StartsWith(ReadOnlySpan<byte> bytes, int position) => output.AsSpan(position).StartsWith(bytes);

        bool IsPrefixOfEvent(ReadOnlySpan<byte> bytes, int position) => bytes.StartsWith(output.AsSpan(position));
    }

    /// <summary>Where the output leaves the input without the removed events, and which those are, for a failure message.</summary>
    public static string Explain(byte[] input, List<RefEvent> events, Removal[] verdicts, byte[] output)
    {
        var expected = new List<byte>();
        for (var i = 0; i < events.Count; i++)
        {
            if (verdicts[i] == Removal.Keep)
            {
                expected.AddRange(input.AsSpan(events[i].Start, events[i].Length));
            }
        }

        var differ = 0;
        while (differ < expected.Count && differ < output.Length && expected[differ] == output[differ])
        {
            differ++;
        }

        var from = Math.Max(0, differ - 80);
        var removed = string.Join(", ", Enumerable.Range(0, events.Count).Where(i => verdicts[i] == Removal.Remove)
            .Select(i => $"#{i} [{Fuzz.Show(input.AsSpan(events[i].Start, events[i].Length), 300)}]"));
        return $"oracle events: {events.Count}; removed: {removed}\n" +
            $"first difference from the input without removed events at {differ} (output {output.Length} bytes, expected {expected.Count}):\n" +
            $"  expected ...{Fuzz.Show([.. expected.Skip(from).Take(200)])}\n" +
            $"  actual   ...{Fuzz.Show(output.AsSpan(from, Math.Min(200, output.Length - from)))}";
    }
}

using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Minimal inputs for the production bugs the fuzz tests found (D1 to D6 in the fuzzing history), so that each stays
/// fixed. The fuzz properties hold every input to the SPEC, with no case excused.
/// </summary>
public class FuzzRegressionTests
{
    private static readonly VllmStream ChatChunks = new(MeteredStream.Model);

    /// <summary>
    /// D1 (SPEC §4: a malformed event or non-JSON data is forwarded unchanged and skipped by the meter).
    /// The data of this event is a usage-only object followed by a second data line, which together are not
    /// JSON; a reader that stopped after the first object would meter and remove the event, and the client would
    /// lose the second line.
    /// </summary>
    [Fact]
    public void UsageOnlyObjectFollowedByMoreData_IsNotJson_AndIsForwardedUnchanged_Unmetered()
    {
        var input = SseText.Utf8(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5}}\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n" +
            "data: [DONE]\n\n");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input), removeUsageChunk: true);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(SseText.Text(input), SseText.Text(client));
        Assert.Equal((0, 0), metered.Scrape().Histogram("input_sequence_tokens"));
    }

    /// <summary>
    /// D2 (SPEC §1.4: the usage-only chunk is <c>"choices": []</c> with a non-null usage). A usage whose
    /// counts are not non-negative 64-bit integers (here written as 12.0 and 5.0) is still that chunk: it must not
    /// reach a client that never asked for it.
    /// </summary>
    [Fact]
    public void UsageOnlyChunk_WithNonIntegerCounts_IsStillRemoved()
    {
        var input = SseText.Utf8(
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12.0,\"completion_tokens\":5.0}}\n\n" +
            "data: [DONE]\n\n");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input), removeUsageChunk: true);

        var client = metered.ReadAllAndComplete();

        Assert.Equal("data: [DONE]\n\n", SseText.Text(client));
    }

    /// <summary>
    /// D3 (SPEC §4: nothing the worker sends may crash the sidecar or leak an inflight count).
    /// A content chunk whose cumulative usage says <c>completion_tokens = 2^63-1</c> sets the live count to
    /// <c>long.MaxValue</c>; the next content chunk adds 1. Were that to wrap, <c>Complete</c> would top up by a
    /// negative amount, <c>Counter.Inc</c> would throw and the gauges would never be released.
    /// </summary>
    [Fact]
    public void HugeCompletionTokens_DoNotOverflowTheLiveCount_AndCompleteReleasesTheGauges()
    {
        var input = SseText.Utf8(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":9223372036854775807}}\n\n" +
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n" +
            "data: [DONE]\n\n");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input), removeUsageChunk: true);

        var client = SseText.ReadToEnd(metered.Stream);
        var complete = Record.Exception(() => metered.Meter.Complete(RequestOutcome.Success));

        Assert.Equal(SseText.Text(input), SseText.Text(client));
        Assert.Null(complete);
        Assert.Equal(0, metered.Scrape().Value("inflight_requests", ("model", "m")));
    }

    /// <summary>
    /// D5 (SPEC §2: a responses <c>*.delta</c> event is content; <c>response.completed</c> ends the stream well).
    /// The same <c>type</c> values written with a JSON escape are valid JSON with the same meaning: a reader that
    /// matched the raw bytes would count neither as content nor as the end of the stream.
    /// </summary>
    [Fact]
    public void ResponsesTypes_WithJsonEscapes_AreStillRecognised()
    {
        var input = SseText.Utf8(
            "event: response.output_text.delta\n" +
            "data: {\"type\":\"response.output_text.d\\u0065lta\",\"delta\":\"Hi\"}\n\n" +
            "event: response.completed\n" +
            "data: {\"type\":\"response.c\\u006fmpleted\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input), removeUsageChunk: true, endpoint: Dynamo.Sidecar.OpenAi.MeteredEndpoint.Responses);

        metered.ReadAllAndComplete();

        Assert.True(metered.Meter.EndedWell);
        Assert.Equal(1, metered.Scrape().Histogram("time_to_first_token_seconds").Count);
    }

    /// <summary>
    /// D6 (SPEC §4: a malformed event is forwarded unchanged and skipped by the meter). When <c>type</c> is not a
    /// string, a reader that read its value's first token without skipping the rest would take the members nested
    /// inside it for top-level ones: the usage inside <c>type</c> (999) instead of the real <c>response.usage</c>.
    /// </summary>
    [Fact]
    public void ResponsesEvent_WithNonStringType_IsNotReadFromInsideTheType()
    {
        var data = """{"type":{"response":{"usage":{"input_tokens":999,"output_tokens":999}}},"response":{"usage":{"input_tokens":3,"output_tokens":1}}}"""u8;

        var read = Dynamo.Sidecar.OpenAi.ResponsesEventReader.TryRead(data, out var facts);

        Assert.True(read);
        Assert.Equal((3, 1), (facts.Usage.PromptTokens, facts.Usage.CompletionTokens));
    }

    private const int Cap = 1024;

    /// <summary>A usage-only event (prompt 12, completion 5) padded to exactly <paramref name="length"/> bytes.</summary>
    private static string UsageEventOf(int length, string newline)
    {
        var usage = ChatChunks.UsageOnly(12, 5);
        return "data: " + new string(' ', length - "data: ".Length - usage.Length - (2 * newline.Length)) + usage + newline + newline;
    }

    /// <summary>
    /// D4 (SPEC §4: an event over the cap passes through unparsed). A CRLF event one byte over the cap, whose blank line's
    /// CR ends one upstream read and LF starts the next, is cap bytes long when its CR arrives: it was parsed, metered and
    /// removed, and its LF removed after it. The LF is part of the event, so the event is over the cap.
    /// </summary>
    [Fact]
    public void EventOneByteOverTheCap_WhoseFinalCrlfIsSplitAcrossReads_PassesUnparsed()
    {
        var usageEvent = UsageEventOf(Cap + 1, "\r\n");
        var input = SseText.Utf8(SseText.Event("\r\n", ChatChunks.Content("Hi")) + usageEvent + SseText.Event("\r\n", "[DONE]"));
        var lf = input.AsSpan().IndexOf(SseText.Utf8(usageEvent)) + usageEvent.Length - 1;
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input, lf), removeUsageChunk: true, maxEventBytes: Cap);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(SseText.Text(input), SseText.Text(client));
        Assert.Equal((0, 0), metered.Scrape().Histogram("input_sequence_tokens"));
    }

    /// <summary>
    /// The other side of D4: an event exactly the cap long is inspected, also when it ends in a CR that ends the upstream read
    /// (CR line endings), so that only the next byte tells whether an LF makes it one byte longer.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EventExactlyTheCap_EndingInACrThatEndsTheRead_IsInspected_AndRemoved(bool moreFollows)
    {
        var usageEvent = UsageEventOf(Cap, "\r");
        var before = SseText.Event("\r", ChatChunks.Content("Hi"));
        var after = moreFollows ? SseText.Event("\r", "[DONE]") : "";
        var input = SseText.Utf8(before + usageEvent + after);
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(input, before.Length + usageEvent.Length), removeUsageChunk: true, maxEventBytes: Cap);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(before + after, SseText.Text(client));
        Assert.Equal((1, 12), metered.Scrape().Histogram("input_sequence_tokens"));
    }
}

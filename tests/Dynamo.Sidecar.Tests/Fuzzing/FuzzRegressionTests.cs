using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Minimal inputs for the production bugs the fuzz tests found (see <see cref="KnownDeviations"/>).
/// These fail until the bugs are fixed.
/// </summary>
public class FuzzRegressionTests
{
    /// <summary>
    /// D1 (SPEC §4: a malformed event or non-JSON data is forwarded unchanged and skipped by the meter).
    /// The data of this event is a usage-only object followed by a second data line, which together are not
    /// JSON; <c>CompletionChunkReader</c> stops after the first object and never looks at the rest, so the
    /// event is metered and removed, and the client loses the second line.
    /// </summary>
    [Fact]
    public void D1_UsageOnlyObjectFollowedByMoreData_IsNotJson_AndIsForwardedUnchanged()
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
    /// counts are not non-negative 64-bit integers (here written as 12.0 and 5.0) makes
    /// <c>Usage.IsReported</c> false, so the chunk the sidecar forced reaches a client that never asked for it.
    /// </summary>
    [Fact]
    public void D2_UsageOnlyChunk_WithNonIntegerCounts_IsStillRemoved()
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
    /// <c>long.MaxValue</c>; the next content chunk adds 1 and wraps it to <c>long.MinValue</c>
    /// (<c>RequestMeter.OnContent</c>); <c>Complete</c> then tops up by <c>MaxValue - MinValue</c>, which wraps
    /// to -1, and <c>Counter.Inc(-1)</c> throws, so the gauges are never released.
    /// </summary>
    [Fact]
    public void D3_HugeCompletionTokens_OverflowTheLiveCount_AndCompleteStillReleasesTheGauges()
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
    /// <c>ResponsesEventReader</c> matches the raw bytes of the <c>type</c> string, so the same values written with a
    /// JSON escape (valid JSON with the same meaning) are neither counted as content nor as the end of the stream.
    /// </summary>
    [Fact]
    public void D5_ResponsesTypes_WithJsonEscapes_AreStillRecognised()
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
    /// string, <c>ResponsesEventReader.TryRead</c> reads its value's first token but never skips the rest, so the
    /// members nested inside it are taken for top-level ones: here the usage inside <c>type</c> (999) is reported,
    /// and the real <c>response.usage</c> after it is never reached.
    /// </summary>
    [Fact]
    public void D6_ResponsesEvent_WithNonStringType_IsNotReadFromInsideTheType()
    {
        var data = """{"type":{"response":{"usage":{"input_tokens":999,"output_tokens":999}}},"response":{"usage":{"input_tokens":3,"output_tokens":1}}}"""u8;

        var read = Dynamo.Sidecar.OpenAi.ResponsesEventReader.TryRead(data, out var facts);

        Assert.True(!read || facts.Usage.PromptTokens is 3 or -1, $"read {read}, usage {facts.Usage}");
    }
}

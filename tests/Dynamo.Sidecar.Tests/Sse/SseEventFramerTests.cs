using Dynamo.Sidecar.Sse;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Sse;

public class SseEventFramerTests
{
    /// <summary>Feeds the pieces in order and returns each event the framer ends, and whether a CR ended the last piece.</summary>
    private static (List<string> Events, string Pending, bool PendingCr) Frame(params string[] pieces) => Frame(false, pieces);

    /// <summary>
    /// Like <see cref="Frame(string[])"/>; with <paramref name="lfFollowsItsCr"/> it does what the metering
    /// stream does: an LF that completes the CRLF ending an event goes with that event (ForgetPendingCr).
    /// </summary>
    private static (List<string> Events, string Pending, bool PendingCr) Frame(bool lfFollowsItsCr, params string[] pieces)
    {
        var framer = new SseEventFramer();
        var events = new List<string>();
        var current = "";
        var eventEndedWithCr = false;
        foreach (var piece in pieces)
        {
            var rest = SseText.Utf8(piece).AsSpan();
            if (lfFollowsItsCr && eventEndedWithCr && rest[0] == (byte)'\n')
            {
                framer.ForgetPendingCr();
                events[^1] += "\n";
                rest = rest[1..];
            }

            eventEndedWithCr = false;
            while (!rest.IsEmpty)
            {
                var length = framer.FindEventEnd(rest);
                if (length < 0)
                {
                    current += SseText.Text(rest);
                    break;
                }

                Assert.InRange(length, 1, rest.Length);
                events.Add(current + SseText.Text(rest[..length]));
                current = "";
                rest = rest[length..];
                eventEndedWithCr = framer.EndsWithSplitCrlfCandidate;
            }
        }

        return (events, current, framer.EndsWithSplitCrlfCandidate);
    }

    private static string[] Bytewise(string text) => [.. text.Select(c => c.ToString())];

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void OneEvent_EndsAfterItsBlankLine(string newline)
    {
        var text = "data: {\"a\":1}" + newline + newline;

        var (events, rest, _) = Frame(text + "data: next");

        Assert.Equal([text], events);
        Assert.Equal("data: next", rest);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void SeveralLineEvents_EndOnlyAtTheBlankLine(string newline)
    {
        var first = $"event: message{newline}id: 1{newline}data: a{newline}data: b{newline}{newline}";
        var second = $": comment{newline}{newline}";

        var (events, rest, _) = Frame(first + second);

        Assert.Equal([first, second], events);
        Assert.Equal("", rest);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void ByteAtATime_FindsTheSameEvents_AsTheWholeText(string newline)
    {
        var text = $"data: a{newline}{newline}: ping{newline}{newline}{newline}id: 2{newline}data: b{newline}data: c{newline}{newline}data: [DONE]{newline}{newline}";

        var whole = Frame(text);
        var bytewise = Frame(lfFollowsItsCr: true, Bytewise(text));

        Assert.Equal(whole.Events, bytewise.Events);
        Assert.Equal(string.Concat(whole.Events), text);
        Assert.Equal(5, whole.Events.Count);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void SingleLineLength_IsTheOnlyLinesLength_ElseMinusOne_InEveryPieceSplit(string newline)
    {
        var text = $"data: {{\"a\":1}}{newline}{newline}: ping{newline}{newline}{newline}event: x{newline}data: b{newline}{newline}data:{newline}{newline}";
        int[] expected = [13, 6, -1, -1, 5];

        for (var split = 0; split <= text.Length; split++)
        {
            var pieces = new[] { text[..split], text[split..] }.Where(p => p.Length > 0).ToArray();
            Assert.Equal(expected, SingleLineLengths(pieces));
        }

        Assert.Equal(expected, SingleLineLengths(Bytewise(text)));
    }

    /// <summary>The framer's <see cref="SseEventFramer.SingleLineLength"/> for each event it ends, fed as the metering stream feeds it.</summary>
    private static List<int> SingleLineLengths(params string[] pieces)
    {
        var framer = new SseEventFramer();
        var lengths = new List<int>();
        var eventEndedWithCr = false;
        foreach (var piece in pieces)
        {
            var rest = SseText.Utf8(piece).AsSpan();
            if (eventEndedWithCr && rest[0] == (byte)'\n')
            {
                framer.ForgetPendingCr();
                rest = rest[1..];
            }

            eventEndedWithCr = false;
            while (!rest.IsEmpty)
            {
                var length = framer.FindEventEnd(rest);
                if (length < 0)
                {
                    break;
                }

                lengths.Add(framer.SingleLineLength);
                rest = rest[length..];
                eventEndedWithCr = framer.EndsWithSplitCrlfCandidate;
            }
        }

        return lengths;
    }

    [Fact]
    public void MixedLineEndings_AreAllLineEnds()
    {
        var text = "data: a\r\ndata: b\rdata: c\n\r\n";

        Assert.Equal([text], Frame(text).Events);
    }

    [Fact]
    public void CrlfSplitBetweenPieces_InsideAnEvent_IsOneLineEnd()
    {
        // If the LF were taken as a second line end, it would be a blank line and end the event early.
        var (events, rest, _) = Frame("data: a\r", "\ndata: b\r", "\n\r", "\n");

        Assert.Equal(["data: a\r\ndata: b\r\n\r"], events);
        Assert.Equal("\n", rest);
    }

    [Fact]
    public void CrAtTheEndOfAPiece_ThatEndsAnEvent_IsReportedAsASplitCrlfCandidate()
    {
        var (events, _, pendingCr) = Frame("data: a\r\n\r");

        Assert.Equal(["data: a\r\n\r"], events);
        Assert.True(pendingCr);
    }

    [Fact]
    public void LfCompletingTheSplitCrlf_DoesNotStartABlankLine()
    {
        // Without the pending-CR memory the lone LF would be read as a keep-alive (an empty event).
        var (events, rest, pendingCr) = Frame("data: a\r\n\r", "\ndata: b\r\n\r\n");

        Assert.Equal(["data: a\r\n\r", "\ndata: b\r\n\r\n"], events);
        Assert.Equal("", rest);
        Assert.False(pendingCr);
    }

    [Fact]
    public void EveryTwoPieceSplit_OfACrlfStream_FindsTheSameEvents_WhenTheCallerKeepsTheLfWithItsCr()
    {
        var text = "data: a\r\n\r\n: ping\r\n\r\n\r\nid: 2\r\ndata: b\r\n\r\ndata: [DONE]\r\n\r\n";
        var whole = Frame(text).Events;

        for (var k = 1; k < text.Length; k++)
        {
            Assert.Equal(whole, Frame(lfFollowsItsCr: true, text[..k], text[k..]).Events);
        }
    }

    [Fact]
    public void ForgetPendingCr_AfterTheCallerTookTheLf_TheNextPieceStartsFresh()
    {
        var framer = new SseEventFramer();
        Assert.Equal(10, framer.FindEventEnd("data: a\r\n\r"u8));
        Assert.True(framer.EndsWithSplitCrlfCandidate);

        framer.ForgetPendingCr();

        Assert.False(framer.EndsWithSplitCrlfCandidate);
        // A blank line right away is now a (keep-alive) event of its own.
        Assert.Equal(1, framer.FindEventEnd("\ndata: b\n\n"u8));
    }

    [Fact]
    public void CrOnlyStream_NextEventAfterAPendingCr_LosesNoByte()
    {
        var (events, rest, _) = Frame("data: a\r\r", "data: b\r\r");

        Assert.Equal(["data: a\r\r", "data: b\r\r"], events);
        Assert.Equal("", rest);
    }

    [Fact]
    public void CrLineEndAtPieceEnd_FollowedByACrlfBlankLine_EndsTheEvent()
    {
        var (events, _, _) = Frame("data: a\r", "\r\n");

        Assert.Equal(["data: a\r\r\n"], events);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void KeepAliveBlankLines_AreEventsOfTheirOwn(string newline)
    {
        var (events, _, _) = Frame(newline + newline + "data: x" + newline + newline);

        Assert.Equal([newline, newline, "data: x" + newline + newline], events);
    }

    [Fact]
    public void EventSpanningManyPieces_EndsInTheRightPiece()
    {
        var framer = new SseEventFramer();

        Assert.Equal(-1, framer.FindEventEnd("da"u8));
        Assert.Equal(-1, framer.FindEventEnd("ta: x"u8));
        Assert.Equal(-1, framer.FindEventEnd("\n"u8));
        Assert.Equal(1, framer.FindEventEnd("\nda"u8));
    }

    [Fact]
    public void TextWithoutABlankLine_NeverEnds()
    {
        var (events, rest, _) = Frame("data: a\ndata: b\n", "id: 3\r\n", "data: c");

        Assert.Empty(events);
        Assert.Equal("data: a\ndata: b\nid: 3\r\ndata: c", rest);
    }
}

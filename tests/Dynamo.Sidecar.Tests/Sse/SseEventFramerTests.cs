using Dynamo.Sidecar.Sse;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Sse;

public class SseEventFramerTests
{
    private const int NoCap = int.MaxValue;

    /// <summary>What the framer ended, fed piece by piece as the metering stream feeds it, then told the stream ended.</summary>
    /// <param name="Events">Each event's text, the LF of a CRLF split from it included.</param>
    /// <param name="Framed">For each event, <see cref="SseFramed.Event"/> or <see cref="SseFramed.OversizedEvent"/>.</param>
    /// <param name="Data">For each event, the data of the <see cref="SseEventFramer.Event"/> it handed over when it ended it.</param>
    /// <param name="Rest">The bytes after the last end: an unterminated tail.</param>
    private sealed record Framing(List<string> Events, List<SseFramed> Framed, List<string?> Data, string Rest);

    private static Framing Frame(params string[] pieces) => Frame(NoCap, pieces);

    private static Framing Frame(int maxEventBytes, params string[] pieces)
    {
        var framer = new SseEventFramer(maxEventBytes);
        var framing = new Framing([], [], [], "");
        var current = "";
        foreach (var piece in pieces)
        {
            var rest = SseText.Utf8(piece).AsSpan();
            while (!rest.IsEmpty)
            {
                var length = framer.FindEventEnd(rest);
                if (length < 0)
                {
                    current += SseText.Text(rest);
                    break;
                }

                Assert.InRange(length, 0, rest.Length);
                Add(current + SseText.Text(rest[..length]));
                current = "";
                rest = rest[length..];
            }
        }

        if (framer.EndOfStream())
        {
            Add(current);
            current = "";
        }

        return framing with { Rest = current };

        void Add(string text)
        {
            Assert.NotEqual("", text);
            if (framer.Framed == SseFramed.LfOfPreviousEvent)
            {
                Assert.Equal("\n", text);
                framing.Events[^1] += text;
                return;
            }

            framing.Events.Add(text);
            framing.Framed.Add(framer.Framed);
            var bytes = SseText.Utf8(text);
            var data = DataOf(framer.Event(bytes));

            // What the framer learned of the event's lines only spares a search: the data is what a fresh reading finds.
            Assert.Equal(DataOf(new SseEvent(bytes)), data);
            framing.Data.Add(data);
        }
    }

    private static string? DataOf(SseEvent sseEvent)
    {
        byte[]? scratch = null;
        try
        {
            return sseEvent.TryGetData(ref scratch, out var data) ? SseText.Text(data) : null;
        }
        finally
        {
            if (scratch is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    private static string[] Bytewise(string text) => [.. text.Select(c => c.ToString())];

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void OneEvent_EndsAfterItsBlankLine(string newline)
    {
        var text = "data: {\"a\":1}" + newline + newline;

        var framing = Frame(text + "data: next");

        Assert.Equal([text], framing.Events);
        Assert.Equal("data: next", framing.Rest);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void SeveralLineEvents_EndOnlyAtTheBlankLine(string newline)
    {
        var first = $"event: message{newline}id: 1{newline}data: a{newline}data: b{newline}{newline}";
        var second = $": comment{newline}{newline}";

        var framing = Frame(first + second);

        Assert.Equal([first, second], framing.Events);
        Assert.Equal("", framing.Rest);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void ByteAtATime_FindsTheSameEvents_AsTheWholeText(string newline)
    {
        var text = $"data: a{newline}{newline}: ping{newline}{newline}{newline}id: 2{newline}data: b{newline}data: c{newline}{newline}data: [DONE]{newline}{newline}";

        var whole = Frame(text);
        var bytewise = Frame(Bytewise(text));

        Assert.Equal(whole.Events, bytewise.Events);
        Assert.Equal(string.Concat(whole.Events), text);
        Assert.Equal(5, whole.Events.Count);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void EachEventHandedOver_ReadsItsOwnData_InEveryPieceSplit(string newline)
    {
        var text = $"data: {{\"a\":1}}{newline}{newline}: ping{newline}{newline}{newline}event: x{newline}data: b{newline}{newline}data:{newline}{newline}";
        string?[] expected = ["{\"a\":1}", null, null, "b", ""];

        for (var split = 0; split <= text.Length; split++)
        {
            var pieces = new[] { text[..split], text[split..] }.Where(p => p.Length > 0).ToArray();
            Assert.Equal(expected, Data(pieces));
        }

        Assert.Equal(expected, Data(Bytewise(text)));
    }

    private static List<string?> Data(params string[] pieces) => Frame(pieces).Data;

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
        var framing = Frame("data: a\r", "\ndata: b\r", "\n\r", "\n");

        Assert.Equal(["data: a\r\ndata: b\r\n\r\n"], framing.Events);
        Assert.Equal("", framing.Rest);
    }

    [Fact]
    public void CrAtTheEndOfAPiece_ThatEndsAnEvent_EndsItAtOnce_AndTheLfStartingTheNextPieceIsReportedAsItsOwn()
    {
        // Without the pending-CR memory the lone LF would be read as a keep-alive (an empty event of its own).
        var framer = new SseEventFramer(NoCap);

        Assert.Equal(10, framer.FindEventEnd("data: a\r\n\r"u8));
        Assert.Equal(SseFramed.Event, framer.Framed);
        Assert.Equal(1, framer.FindEventEnd("\ndata: b\r\n\r\n"u8));
        Assert.Equal(SseFramed.LfOfPreviousEvent, framer.Framed);
        Assert.Equal(11, framer.FindEventEnd("data: b\r\n\r\n"u8));
        Assert.Equal(SseFramed.Event, framer.Framed);
        Assert.False(framer.EndOfStream());
    }

    [Fact]
    public void EveryTwoPieceSplit_OfACrlfStream_FindsTheSameEvents()
    {
        var text = "data: a\r\n\r\n: ping\r\n\r\n\r\nid: 2\r\ndata: b\r\n\r\ndata: [DONE]\r\n\r\n";
        var whole = Frame(text).Events;

        for (var k = 1; k < text.Length; k++)
        {
            Assert.Equal(whole, Frame(text[..k], text[k..]).Events);
        }
    }

    [Fact]
    public void CrOnlyStream_NextEventAfterAPendingCr_LosesNoByte()
    {
        var framing = Frame("data: a\r\r", "data: b\r\r");

        Assert.Equal(["data: a\r\r", "data: b\r\r"], framing.Events);
        Assert.Equal("", framing.Rest);
    }

    [Fact]
    public void CrLineEndAtPieceEnd_FollowedByACrlfBlankLine_EndsTheEvent()
    {
        Assert.Equal(["data: a\r\r\n"], Frame("data: a\r", "\r\n").Events);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void KeepAliveBlankLines_AreEventsOfTheirOwn(string newline)
    {
        var framing = Frame(newline + newline + "data: x" + newline + newline);

        Assert.Equal([newline, newline, "data: x" + newline + newline], framing.Events);
    }

    [Fact]
    public void EventSpanningManyPieces_EndsInTheRightPiece()
    {
        var framer = new SseEventFramer(NoCap);

        Assert.Equal(-1, framer.FindEventEnd("da"u8));
        Assert.Equal(-1, framer.FindEventEnd("ta: x"u8));
        Assert.Equal(-1, framer.FindEventEnd("\n"u8));
        Assert.Equal(1, framer.FindEventEnd("\nda"u8));
    }

    [Fact]
    public void TextWithoutABlankLine_NeverEnds()
    {
        var framing = Frame("data: a\ndata: b\n", "id: 3\r\n", "data: c");

        Assert.Empty(framing.Events);
        Assert.Equal("data: a\ndata: b\nid: 3\r\ndata: c", framing.Rest);
    }

    private const int Cap = 40;

    /// <summary>An event of exactly <paramref name="length"/> bytes: one padded data line and the blank line.</summary>
    private static string EventOf(int length, string newline) =>
        "data: " + new string('x', length - "data: ".Length - (2 * newline.Length)) + newline + newline;

    /// <summary>
    /// SPEC §4: an event over the cap passes unparsed. Its size counts every byte up to its blank line's end, the LF
    /// of a CRLF included, however the bytes are split: one byte over the cap is over it, also when that byte is the
    /// LF of a CRLF whose CR ended the previous piece.
    /// </summary>
    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void EventsAroundTheCap_AreOversizedExactlyWhenLongerThanIt_InEveryPieceSplit(string newline)
    {
        int[] lengths = [Cap - 1, Cap, Cap + 1, Cap + 2, Cap, 12, Cap + 1];
        var events = lengths.Select(length => EventOf(length, newline)).ToList();
        var framed = lengths.Select(length => length > Cap ? SseFramed.OversizedEvent : SseFramed.Event).ToList();
        var text = string.Concat(events);

        for (var split = 0; split <= text.Length; split++)
        {
            var framing = Frame(Cap, [.. new[] { text[..split], text[split..] }.Where(p => p.Length > 0)]);
            Assert.Equal(events, framing.Events);
            Assert.Equal(framed, framing.Framed);
        }

        var bytewise = Frame(Cap, Bytewise(text));
        Assert.Equal(events, bytewise.Events);
        Assert.Equal(framed, bytewise.Framed);
    }

    [Fact]
    public void CrlfEventOneByteOverTheCap_WhoseFinalCrEndsThePiece_IsOversized_WhenItsLfStartsTheNextPiece()
    {
        var framer = new SseEventFramer(Cap);
        var atTheCapBeforeItsLf = EventOf(Cap + 1, "\r\n")[..^1];

        Assert.Equal(-1, framer.FindEventEnd(SseText.Utf8(atTheCapBeforeItsLf)));
        Assert.False(framer.IsOversized);
        Assert.Equal(1, framer.FindEventEnd("\ndata: b\n\n"u8));
        Assert.Equal(SseFramed.OversizedEvent, framer.Framed);
        Assert.Equal(9, framer.FindEventEnd("data: b\n\n"u8));
        Assert.Equal(SseFramed.Event, framer.Framed);
    }

    [Fact]
    public void EventOfExactlyTheCap_EndingInACrThatEndsThePiece_IsAnEvent_WhenNoLfFollows()
    {
        var framer = new SseEventFramer(Cap);
        var atTheCap = SseText.Utf8(EventOf(Cap, "\r"));

        Assert.Equal(-1, framer.FindEventEnd(atTheCap));
        Assert.Equal(0, framer.FindEventEnd("data: b\r\r"u8));
        Assert.Equal(SseFramed.Event, framer.Framed);
        Assert.Equal(EventOf(Cap, "\r")["data: ".Length..^"\r\r".Length], DataOf(framer.Event(atTheCap)));
        Assert.Equal(9, framer.FindEventEnd("data: b\r\r"u8));
        Assert.Equal(SseFramed.Event, framer.Framed);
    }

    [Fact]
    public void EventOfExactlyTheCap_EndingInACrThatEndsTheStream_IsAnEvent()
    {
        var framer = new SseEventFramer(Cap);

        Assert.Equal(-1, framer.FindEventEnd(SseText.Utf8(EventOf(Cap, "\r"))));
        Assert.True(framer.EndOfStream());
        Assert.Equal(SseFramed.Event, framer.Framed);
        Assert.False(framer.EndOfStream());
    }

    [Theory]
    [InlineData(Cap - 1, false)]
    [InlineData(Cap, true)]
    [InlineData(Cap + 5, true)]
    public void UnfinishedEvent_IsOversized_OnceItHoldsTheCap(int held, bool oversized)
    {
        var framer = new SseEventFramer(Cap);

        Assert.Equal(-1, framer.FindEventEnd(SseText.Utf8("data: " + new string('x', held - 8) + "\r\n")));

        Assert.Equal(oversized, framer.IsOversized);
    }
}

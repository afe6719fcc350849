using Dynamo.Sidecar.Sse;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Sse;

public class SseEventTests
{
    private static string? Data(string rawEvent)
    {
        byte[]? scratch = null;
        try
        {
            return new SseEvent(SseText.Utf8(rawEvent)).TryGetData(ref scratch, out var data) ? SseText.Text(data) : null;
        }
        finally
        {
            if (scratch is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    [Theory]
    [InlineData("data: {\"a\":1}\n\n")]
    [InlineData("data: {\"a\":1}\r\n\r\n")]
    [InlineData("data: {\"a\":1}\r\r")]
    [InlineData("data: {\"a\":1}")]
    [InlineData("data:{\"a\":1}\n\n")]
    [InlineData("event: message\nid: 42\ndata: {\"a\":1}\n\n")]
    [InlineData(": ping\r\nid: 42\r\ndata: {\"a\":1}\r\nretry: 5\r\n\r\n")]
    public void SingleDataLine_IsItsValue(string rawEvent) => Assert.Equal("{\"a\":1}", Data(rawEvent));

    [Fact]
    public void SingleDataLine_IsASliceOfTheEvent_NoScratchNeeded()
    {
        var raw = "id: 1\ndata: [DONE]\n\n"u8;
        byte[]? scratch = null;

        Assert.True(new SseEvent(raw).TryGetData(ref scratch, out var data));

        Assert.True(data.SequenceEqual("[DONE]"u8));
        Assert.Null(scratch);
        Assert.True(data.Overlaps(raw));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void MultiLineData_IsJoinedWithLf(string newline) =>
        Assert.Equal("{\"a\":\n1,\n\"b\":2}", Data($"data: {{\"a\":{newline}data: 1,{newline}data: \"b\":2}}{newline}{newline}"));

    [Fact]
    public void MultiLineData_WithOtherFieldsBetween_JoinsOnlyTheDataLines() =>
        Assert.Equal("a\nb", Data("data: a\nid: 1\n: note\ndata: b\n\n"));

    [Theory]
    [InlineData("data\n\n", "")]
    [InlineData("data:\n\n", "")]
    [InlineData("data: \n\n", "")]
    [InlineData("data:x\n\n", "x")]
    [InlineData("data:  x\n\n", " x")]
    [InlineData("data: x \n\n", "x ")]
    [InlineData("data\ndata: x\n\n", "\nx")]
    [InlineData("data: x\ndata\n\n", "x\n")]
    [InlineData("data: a:b: c\n\n", "a:b: c")]
    public void DataFieldSpellings_FollowTheSseRules(string rawEvent, string expected) =>
        Assert.Equal(expected, Data(rawEvent));

    [Theory]
    [InlineData(": ping\n\n")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("")]
    [InlineData("id: 5\n\n")]
    [InlineData("event: response.created\n\n")]
    [InlineData("retry: 1000\n\n")]
    [InlineData("data2: x\n\n")]
    [InlineData("Data: x\n\n")]
    [InlineData("data : x\n\n")]
    [InlineData(" data: x\n\n")]
    [InlineData(":data: x\n\n")]
    public void EventsWithoutADataField_HaveNoData(string rawEvent) => Assert.Null(Data(rawEvent));

    [Fact]
    public void Scratch_TooSmall_IsReplacedByALargerOne_AndReused()
    {
        var raw = SseText.Utf8("data: " + new string('a', 300) + "\ndata: " + new string('b', 300) + "\n\n");
        byte[]? scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(16);
        var small = scratch;

        Assert.True(new SseEvent(raw).TryGetData(ref scratch, out var data));

        Assert.NotSame(small, scratch);
        Assert.Equal(new string('a', 300) + "\n" + new string('b', 300), SseText.Text(data));

        var kept = scratch;
        Assert.True(new SseEvent("data: x\ndata: y\n\n"u8).TryGetData(ref scratch, out data));
        Assert.Same(kept, scratch);
        Assert.Equal("x\ny", SseText.Text(data));
        System.Buffers.ArrayPool<byte>.Shared.Return(scratch!);
    }
}

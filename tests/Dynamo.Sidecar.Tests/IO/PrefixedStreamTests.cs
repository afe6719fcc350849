using Dynamo.Sidecar.IO;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.IO;

public class PrefixedStreamTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(4096)]
    public async Task ReplaysThePrefix_ThenTheRest(int readSize)
    {
        var stream = new PrefixedStream(SseText.Utf8("{\"model\":"), ChunkedReadStream.InPiecesOf(SseText.Utf8("\"m\"}"), 2));

        Assert.Equal("{\"model\":\"m\"}", SseText.Text(await SseText.ReadToEndAsync(stream, readSize)));
    }

    [Fact]
    public async Task ZeroByteRead_WhileThePrefixLasts_ConsumesNothing()
    {
        var rest = ChunkedReadStream.SplitAt(SseText.Utf8("cd"));
        var stream = new PrefixedStream(SseText.Utf8("ab"), rest);

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(0, rest.ReadCalls);
        Assert.Equal("abcd", SseText.Text(await SseText.ReadToEndAsync(stream)));
    }

    [Fact]
    public async Task ZeroByteRead_AfterThePrefix_ReachesTheRest()
    {
        var rest = ChunkedReadStream.SplitAt(SseText.Utf8("cd"));
        var stream = new PrefixedStream(ReadOnlyMemory<byte>.Empty, rest);

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(1, rest.ZeroByteReads);
    }
}

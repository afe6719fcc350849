using System.Text;
using Dynamo.Sidecar.Metering;
using Dynamo.Sidecar.OpenAi;
using Dynamo.Sidecar.Testing.Workers;
using Dynamo.Sidecar.Tests.Support;

namespace Dynamo.Sidecar.Tests.Metering;

/// <summary>
/// The SSE reader between the worker and YARP's copier, driven the way <c>StreamCopierTests</c> drive
/// the copier: every byte boundary, every read size, every line ending, throwing and stalling bodies.
/// </summary>
public class SseMeteringStreamTests
{
    private static readonly VllmStream Chunks = new(MeteredStream.Model);

    public static TheoryData<string, bool> LineEndingsAndRemoval => new()
    {
        { "LF", true }, { "LF", false },
        { "CRLF", true }, { "CRLF", false },
        { "CR", true }, { "CR", false },
    };

    private static string Newline(string name) => name switch
    {
        "LF" => "\n",
        "CRLF" => "\r\n",
        "CR" => "\r",
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>
    /// A short generation as vLLM streams it with <c>include_usage</c>: role chunk, four content chunks, the
    /// EOS chunk that finishes it, the usage-only chunk (12 prompt, 5 completion, 4 cached) and <c>[DONE]</c>.
    /// </summary>
    private static (byte[] Input, byte[] WithoutUsage) Generation(string newline)
    {
        var stream = VllmStream.Chat(new Generation(MeteredStream.Model, ["Hello", ",", " world", "!"], PromptTokens: 12, CachedTokens: 4) { FinishReason = "stop" })
            .WithLineEnd(newline);
        return (SseText.Utf8(stream.Body), SseText.Utf8(stream.BodyWithoutUsage));
    }

    private static (byte[] Client, MetricsScrape Scrape) Run(Stream upstream, bool removeUsage, int readSize = 4096)
    {
        using var metered = new MeteredStream(upstream, removeUsage);
        var client = metered.ReadAllAndComplete(readSize);
        return (client, metered.Scrape());
    }

    private static void AssertGenerationMetrics(MetricsScrape scrape)
    {
        (string, string)[] request = [("model", "m"), ("endpoint", "chat_completions"), ("request_type", "stream")];
        Assert.Equal(1, scrape.Value("requests_started_total", request));
        Assert.Equal(1, scrape.Value("requests_total", [.. request, ("status", "success"), ("error_type", "")]));
        Assert.Equal(0, scrape.Value("inflight_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("active_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("queued_requests", ("model", "m")));
        Assert.Equal(0, scrape.Value("disconnected_clients"));
        Assert.Equal(5, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 0), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal(3, scrape.Histogram("inter_token_latency_seconds").Count);
        Assert.Equal((1, 12), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 5), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 4), scrape.Histogram("cached_sequence_length"));
    }

    private static string Describe(byte[] input, int offset)
    {
        var from = Math.Max(0, offset - 12);
        var to = Math.Min(input.Length, offset + 12);
        return $"split at {offset}: ...{Escape(input.AsSpan(from, offset - from))}|{Escape(input.AsSpan(offset, to - offset))}...";
    }

    private static string Escape(ReadOnlySpan<byte> bytes) =>
        SseText.Text(bytes).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(LineEndingsAndRemoval))]
    public void Generation_SplitAtEveryByteOffset_ClientBytesAndMetricsNeverDepend_OnTheSplit(string lineEnding, bool removeUsage)
    {
        var (input, withoutUsage) = Generation(Newline(lineEnding));
        var expected = removeUsage ? withoutUsage : input;
        var (baselineBytes, baseline) = Run(ChunkedReadStream.SplitAt(input), removeUsage);
        Assert.Equal(SseText.Text(expected), SseText.Text(baselineBytes));
        AssertGenerationMetrics(baseline);

        var failures = new List<string>();
        for (var k = 1; k < input.Length; k++)
        {
            var (client, scrape) = Run(ChunkedReadStream.SplitAt(input, k), removeUsage);
            if (!client.AsSpan().SequenceEqual(expected))
            {
                failures.Add($"{Describe(input, k)} client got {Escape(client)}");
            }
            else if (scrape.Text != baseline.Text)
            {
                failures.Add($"{Describe(input, k)} metrics differ:\n{scrape.Text}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {input.Length - 1} splits failed; first: {failures.FirstOrDefault()}");
    }

    [Theory]
    [MemberData(nameof(LineEndingsAndRemoval))]
    public void Generation_EveryReadSize_ClientBytesAndMetricsNeverDepend_OnTheReadSize(string lineEnding, bool removeUsage)
    {
        var (input, withoutUsage) = Generation(Newline(lineEnding));
        var expected = removeUsage ? withoutUsage : input;
        var (_, baseline) = Run(ChunkedReadStream.SplitAt(input), removeUsage);
        AssertGenerationMetrics(baseline);

        var failures = new List<string>();
        for (var size = 1; size <= 64; size++)
        {
            // Worker bytes in pieces of `size`, read by a client with reads of `size`, of 7 and of 4096 bytes,
            // and the whole body at once read with reads of `size`.
            (string Name, Stream Upstream, int ReadSize)[] runs =
            [
                ($"pieces {size}, reads {size}", ChunkedReadStream.InPiecesOf(input, size), size),
                ($"pieces {size}, reads 7", ChunkedReadStream.InPiecesOf(input, size), 7),
                ($"pieces {size}, reads 4096", ChunkedReadStream.InPiecesOf(input, size), 4096),
                ($"one piece, reads {size}", ChunkedReadStream.SplitAt(input), size),
            ];
            foreach (var (name, upstream, readSize) in runs)
            {
                var (client, scrape) = Run(upstream, removeUsage, readSize);
                if (!client.AsSpan().SequenceEqual(expected))
                {
                    failures.Add($"{name}: client got {Escape(client)}");
                }
                else if (scrape.Text != baseline.Text)
                {
                    failures.Add($"{name}: metrics differ:\n{scrape.Text}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} runs failed; first: {failures.FirstOrDefault()}");
    }

    [Fact]
    public void CrEndings_SplitRightAfterTheRemovedUsageEvent_NextEventIsKeptWhole()
    {
        var usage = SseText.Event("\r", Chunks.UsageOnly(12, 5));
        var done = SseText.Event("\r", "[DONE]");
        var content = SseText.Event("\r", Chunks.Content("a"));
        using var metered = new MeteredStream(ChunkedReadStream.OfPieces(SseText.Utf8(content + usage), SseText.Utf8(done)));

        var client = metered.ReadAllAndComplete();

        Assert.Equal(content + done, SseText.Text(client));
        Assert.True(metered.Meter.EndedWell);
        Assert.Equal(5, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CrlfEndings_LfOfTheUsageEventsBlankLineArrivesAlone_FollowsItsEvent(bool removeUsage)
    {
        var content = SseText.Event("\r\n", Chunks.Content("a"));
        var usage = SseText.Event("\r\n", Chunks.UsageOnly(12, 5));
        var done = SseText.Event("\r\n", "[DONE]");
        var upstream = ChunkedReadStream.OfPieces(
            SseText.Utf8(content + usage[..^1]), // ...\r\n\r
            "\n"u8.ToArray(),
            SseText.Utf8(done));
        using var metered = new MeteredStream(upstream, removeUsage);

        var client = metered.ReadAllAndComplete(readSize: 3);

        Assert.Equal(removeUsage ? content + done : content + usage + done, SseText.Text(client));
        Assert.Equal((1, 12), metered.Scrape().Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void CrlfEndings_LfOfTheUsageEventsBlankLineStartsThePieceWithTheNextEvent_IsRemovedWithIt()
    {
        var usage = SseText.Event("\r\n", Chunks.UsageOnly(12, 5));
        var done = SseText.Event("\r\n", "[DONE]");
        var upstream = ChunkedReadStream.OfPieces(SseText.Utf8(usage[..^1]), SseText.Utf8("\n" + done));
        using var metered = new MeteredStream(upstream);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(done, SseText.Text(client));
        Assert.True(metered.Meter.EndedWell);
    }

    [Fact]
    public void EventLargerThanOneRead_IsParsedWhole_AndPassesByteIdentical()
    {
        var big = new string('x', 100 * 1024);
        var input = SseText.Utf8(SseText.Events("\n", Chunks.Content(big), Chunks.Finish(), Chunks.UsageOnly(3, 1), "[DONE]"));
        var upstream = ChunkedReadStream.InPiecesOf(input, 1000);
        using var metered = new MeteredStream(upstream);

        var client = metered.ReadAllAndComplete();

        var expected = SseText.Utf8(SseText.Events("\n", Chunks.Content(big), Chunks.Finish(), "[DONE]"));
        Assert.Equal(expected, client);
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Histogram("time_to_first_token_seconds").Count);
        Assert.Equal(1, scrape.Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void EventLargerThanTheCap_PassesByteIdentical_Unparsed_AndTheNextEventIsParsedAgain()
    {
        const int cap = 32 * 1024;
        var oversizedContent = Chunks.Content(new string('x', 100 * 1024));
        // A usage-only chunk bloated past the cap: it is not parsed, so it cannot be recognised and removed.
        var oversizedUsage = Chunks.Chunk("[]", Chunks.Usage(7, 9)).Replace(Chunks.Id, new string('i', 50 * 1024), StringComparison.Ordinal);
        var input = SseText.Utf8(SseText.Events("\r\n", oversizedContent, Chunks.Content("small"), oversizedUsage, "[DONE]"));
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(input, 5000), maxEventBytes: cap);

        var client = metered.ReadAllAndComplete(readSize: 1500);

        Assert.Equal(input, client);
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal(1, scrape.Histogram("time_to_first_token_seconds").Count);
        Assert.False(scrape.Has("input_sequence_tokens_count", ("model", "m")));
        Assert.True(metered.Meter.EndedWell);
    }

    [Theory]
    [InlineData(1024, 10 * 1024)]
    [InlineData(4096, 10 * 1024)]
    [InlineData(100_000, 120_000)]
    public void EventLargerThanTheConfiguredCap_IsNotParsed_WhateverTheCapsValue(int cap, int eventBytes)
    {
        // SidecarOptions.MaxInspectedEventBytes: "anything larger passes through unparsed".
        var usage = Chunks.UsageOnly(7, 3);
        usage = usage.Replace(Chunks.Id, new string('i', eventBytes - usage.Length), StringComparison.Ordinal);
        var body = SseText.Events("\n", Chunks.Content("a"), usage, "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 1000), maxEventBytes: cap);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(body, SseText.Text(client));
        Assert.False(metered.Scrape().Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public void EventLargerThanTheCap_WhoseTailHoldsACompleteDataLine_IsStillPassedWhole()
    {
        // Some servers pad events with a comment to defeat buffering; past the cap, the head is already
        // with the client, so the tail (here the usage-only chunk) must not be parsed and removed on its own.
        const int cap = 32 * 1024;
        var padded = ": " + new string('p', 40 * 1024) + "\n" + "data: " + Chunks.UsageOnly(7, 3) + "\n\n";
        var body = SseText.Events("\n", Chunks.Content("a")) + padded + SseText.Event("\n", "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 4000), maxEventBytes: cap);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));
        Assert.False(metered.Scrape().Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Fact]
    public void EventLargerThanTheCap_ThatEndsAtAPieceBoundaryWithACr_KeepsItsLf()
    {
        const int cap = 32 * 1024;
        var oversized = SseText.Event("\r\n", Chunks.Content(new string('x', 40 * 1024)));
        var done = SseText.Event("\r\n", "[DONE]");
        var upstream = ChunkedReadStream.OfPieces(SseText.Utf8(oversized[..^1]), SseText.Utf8("\n" + done));
        using var metered = new MeteredStream(upstream, maxEventBytes: cap);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(oversized + done, SseText.Text(client));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void StreamEndingWithoutTheFinalBlankLine_DeliversTheTail_AndMetersIt(string tailEnding)
    {
        var head = SseText.Events("\n", Chunks.Content("a"), Chunks.Content("b"));
        var tail = "data: " + Chunks.Content("c") + tailEnding;
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(head + tail), 10));

        var client = metered.ReadAllAndComplete(readSize: 4);

        Assert.Equal(head + tail, SseText.Text(client));
        Assert.Equal(3, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void StreamEndingWithDoneWithoutTheFinalBlankLine_EndsWell()
    {
        var body = SseText.Events("\n", Chunks.Content("a")) + "data: [DONE]\n";
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));
        Assert.True(metered.Meter.EndedWell);
    }

    [Fact]
    public void StreamCutMidGeneration_DoesNotEndWell()
    {
        var body = SseText.Events("\n", Chunks.Role(), Chunks.Content("a"), Chunks.Content("b"));
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        metered.ReadAllAndComplete();

        Assert.False(metered.Meter.EndedWell);
    }

    [Fact]
    public void StreamEndingAfterAFinishReason_WithoutDone_EndsWell()
    {
        var body = SseText.Events("\n", Chunks.Content("a"), Chunks.Finish(reason: "length"));
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        metered.ReadAllAndComplete();

        Assert.True(metered.Meter.EndedWell);
    }

    [Fact]
    public async Task ZeroByteRead_WaitsForData_ConsumesNothing_ThenARealReadDeliversIt()
    {
        var upstream = new PushedStream();
        using var metered = new MeteredStream(upstream);
        var first = SseText.Event("\n", Chunks.Content("a"));

        var probe = metered.Stream.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Delay(20);
        Assert.False(probe.IsCompleted);

        upstream.Push(first);
        Assert.Equal(0, await probe.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, upstream.Consumed);
        Assert.Equal(["upstream probe"], upstream.Log);

        var buffer = new byte[4096];
        var read = await metered.Stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(first, SseText.Text(buffer.AsSpan(0, read)));
        Assert.Equal(1, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public async Task ZeroByteRead_WhileAnEventIsReady_ReturnsZeroAtOnce_AndLosesNothing()
    {
        var first = SseText.Event("\n", Chunks.Content("a"));
        var second = SseText.Event("\n", Chunks.Content("b"));
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(first + second)));
        var buffer = new byte[10];

        Assert.Equal(10, await metered.Stream.ReadAsync(buffer));
        Assert.Equal(0, await metered.Stream.ReadAsync(Memory<byte>.Empty));
        var rest = await SseText.ReadToEndAsync(metered.Stream, 5);

        Assert.Equal(first + second, SseText.Text(buffer) + SseText.Text(rest));
    }

    [Fact]
    public async Task ZeroByteRead_AtTheEndOfTheBody_ReturnsZero()
    {
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt([]));

        Assert.Equal(0, await metered.Stream.ReadAsync(Memory<byte>.Empty));
        Assert.Equal(0, await metered.Stream.ReadAsync(new byte[16]));
        Assert.Equal(0, await metered.Stream.ReadAsync(new byte[16]));
    }

    [Fact]
    public async Task EachCompleteEvent_IsReleasedBeforeTheNextUpstreamRead()
    {
        var first = SseText.Event("\n", Chunks.Content("a"));
        var second = SseText.Event("\n", Chunks.Content("b"));
        var upstream = new PushedStream();
        using var metered = new MeteredStream(upstream);
        var buffer = new byte[4096];

        // The first event and the first half of the second arrive together.
        upstream.Push(first + second[..20]);
        var read = await metered.Stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        upstream.Log.Add("client got " + SseText.Text(buffer.AsSpan(0, read)));

        var pending = metered.Stream.ReadAsync(buffer).AsTask();
        await Task.Delay(20);
        Assert.False(pending.IsCompleted);
        upstream.Push(second[20..]);
        read = await pending.WaitAsync(TimeSpan.FromSeconds(10));
        upstream.Log.Add("client got " + SseText.Text(buffer.AsSpan(0, read)));

        Assert.Equal(["upstream read", "client got " + first, "upstream read", "client got " + second], upstream.Log);
    }

    [Fact]
    public async Task AnEventArrivingAlone_IsHandedOutWithoutAnotherUpstreamRead()
    {
        var upstream = new PushedStream();
        using var metered = new MeteredStream(upstream);
        var first = SseText.Event("\n", Chunks.Content("a"));
        upstream.Push(first);

        var buffer = new byte[4096];
        var read = await metered.Stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(first, SseText.Text(buffer.AsSpan(0, read)));
        Assert.Equal(["upstream read"], upstream.Log);
        // Metered the moment it passed, not at the end of the stream.
        Assert.Equal(1, metered.Scrape().Value("output_tokens_total", ("model", "m")));
        Assert.Equal(0, metered.Scrape().Value("queued_requests", ("model", "m")));
    }

    [Fact]
    public async Task UpstreamException_Propagates_AfterTheCompleteEventsWereDelivered()
    {
        var first = SseText.Event("\n", Chunks.Content("a"));
        var error = new IOException("connection reset");
        var upstream = new ThrowingStream(SseText.Utf8(first + "data: {\"cho"), error);
        var metered = new MeteredStream(upstream);
        var buffer = new byte[4096];

        var read = await metered.Stream.ReadAsync(buffer);
        var thrown = await Assert.ThrowsAsync<IOException>(() => metered.Stream.ReadAsync(buffer).AsTask());

        Assert.Equal(first, SseText.Text(buffer.AsSpan(0, read)));
        Assert.Same(error, thrown);
        metered.Dispose();
        Assert.True(upstream.Disposed);
    }

    [Fact]
    public async Task Cancellation_ReachesTheUpstreamRead()
    {
        var upstream = new PushedStream();
        using var metered = new MeteredStream(upstream);
        using var cts = new CancellationTokenSource();

        var pending = metered.Stream.ReadAsync(new byte[64], cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ReadAfterDispose_Throws()
    {
        var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8("data: x\n\n")));
        metered.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => metered.Stream.ReadAsync(new byte[8]).AsTask());
    }

    [Fact]
    public void TwoChoicesInterleaved_EachChunkIsOneToken_ItlAcrossChoices()
    {
        var events = new[]
        {
            Chunks.Role(),
            Chunks.Delta("""{"role":"assistant","content":""}""", index: 1),
            Chunks.Content("a", index: 0),
            Chunks.Content("x", index: 1),
            Chunks.Content("b", index: 0),
            Chunks.Content("y", index: 1),
            Chunks.Finish(index: 0),
            Chunks.Content("z", index: 1),
            Chunks.Finish(index: 1),
            Chunks.UsageOnly(20, 7),
            "[DONE]",
        };
        var input = SseText.Utf8(SseText.Events("\n", events));
        var time = new ManualTimeProvider();
        var upstream = ChunkedReadStream.OfPieces([.. events.Select(e => SseText.Utf8(SseText.Event("\n", e)))]);
        upstream = WithClock(upstream, time, TimeSpan.FromSeconds(0.25));
        using var metered = new MeteredStream(upstream, time: time);

        var client = metered.ReadAllAndComplete();

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i != 9)]), SseText.Text(client));
        Assert.NotEqual(input.Length, client.Length);
        var scrape = metered.Scrape();
        Assert.Equal(7, scrape.Value("output_tokens_total", ("model", "m")));
        // First content chunk at the third read: 0.75 s. Then 4 more content chunks, 0.25 s apart except
        // for the finish chunk in between (0.5 s before "z").
        Assert.Equal((1, 0.75), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal((4, 1.25), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 7), scrape.Histogram("output_sequence_tokens"));
    }

    [Fact]
    public void OneChunkWithTwoChoicesCarryingOutput_CountsTwoTokens()
    {
        var twoChoices = Chunks.Chunk("""[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]""");
        var body = SseText.Events("\n", Chunks.Content("first"), twoChoices);
        var time = new ManualTimeProvider();
        var upstream = WithClock(ChunkedReadStream.OfPieces([.. new[] { Chunks.Content("first"), twoChoices }.Select(e => SseText.Utf8(SseText.Event("\n", e)))]), time, TimeSpan.FromSeconds(0.5));
        using var metered = new MeteredStream(upstream, time: time);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        var scrape = metered.Scrape();
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((2, 0.5), scrape.Histogram("inter_token_latency_seconds"));
    }

    [Fact]
    public void ContinuousUsageStats_MultiTokenChunks_CounterIsExact_ItlObservedOncePerToken()
    {
        // vLLM with stream_options.continuous_usage_stats: every chunk carries the running usage.
        var events = new[]
        {
            Chunks.Role(usage: Chunks.Usage(10, 0)),
            Chunks.Content("Hel", usage: Chunks.Usage(10, 1)),
            Chunks.Content("lo", usage: Chunks.Usage(10, 2)),
            Chunks.Content(" big chunk", usage: Chunks.Usage(10, 6)),
            Chunks.Finish(usage: Chunks.Usage(10, 6)),
            Chunks.UsageOnly(10, 6),
            "[DONE]",
        };
        double[] secondsBeforeRead = [0.5, 0.25, 0.125, 0.5, 0.25, 0, 0];
        var time = new ManualTimeProvider();
        var pieces = events.Select(e => SseText.Utf8(SseText.Event("\n", e))).ToArray();
        var upstream = ChunkedReadStream.OfPieces(pieces);
        upstream = WithClock(upstream, time, i => TimeSpan.FromSeconds(secondsBeforeRead[i]));
        using var metered = new MeteredStream(upstream, time: time);
        var client = new List<byte>();
        var buffer = new byte[4096];
        var liveCounts = new List<double>();
        int read;
        while ((read = metered.Stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            client.AddRange(buffer.AsSpan(0, read));
            liveCounts.Add(metered.Scrape().Value("output_tokens_total", ("model", "m")));
        }

        metered.Meter.Complete(RequestOutcome.Success);

        Assert.Equal(SseText.Events("\n", [.. events.Where((_, i) => i != 5)]), Encoding.UTF8.GetString([.. client]));
        // One client read per event (the usage-only event never reaches the client).
        Assert.Equal([0, 1, 2, 6, 6, 6], liveCounts);
        var scrape = metered.Scrape();
        Assert.Equal(6, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 0.75), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal(0, scrape.Bucket("time_to_first_token_seconds", "0.47"));
        Assert.Equal(1, scrape.Bucket("time_to_first_token_seconds", "1"));
        // 0.125 s for one token, then 0.5 s for four tokens: five observations of 0.125 s.
        Assert.Equal((5, 0.625), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal(0, scrape.Bucket("inter_token_latency_seconds", "0.084"));
        Assert.Equal(5, scrape.Bucket("inter_token_latency_seconds", "0.16"));
        Assert.Equal((1, 6), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 10), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 1.625), scrape.Histogram("request_duration_seconds"));
    }

    [Fact]
    public void ContinuousUsageStats_FirstChunkWithSeveralTokens_CountsThem_WithoutItl()
    {
        var body = SseText.Events("\n",
            Chunks.Content("abc", usage: Chunks.Usage(4, 3)),
            Chunks.Content("d", usage: Chunks.Usage(4, 4)),
            Chunks.UsageOnly(4, 4),
            "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        metered.ReadAllAndComplete();

        var scrape = metered.Scrape();
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal(1, scrape.Histogram("inter_token_latency_seconds").Count);
    }

    [Theory]
    [InlineData(3, 3, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(6, 6, 5)]
    public void LastContentChunkCarryingTheUsage_CountsOnlyWhatTheUsageAdds_NeverOvershoots(int completionTokens, int expectedCounter, int expectedItl)
    {
        // A worker whose last chunk has text, the finish_reason and the usage together (no include_usage chunk).
        var last = Chunks.Chunk("""[{"index":0,"delta":{"content":"c"},"finish_reason":"stop"}]""", Chunks.Usage(9, completionTokens));
        var body = SseText.Events("\n", Chunks.Content("a"), Chunks.Content("b"), last, "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 17));

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        var scrape = metered.Scrape();
        Assert.Equal(expectedCounter, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, completionTokens), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 9), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal(expectedItl, scrape.Histogram("inter_token_latency_seconds").Count);
        Assert.True(metered.Meter.EndedWell);
    }

    [Fact]
    public void WorkerThatNeverSendsUsage_OslIsTheLiveCount_NoIslNorCached()
    {
        var body = SseText.Events("\n", Chunks.Role(), Chunks.Content("a"), Chunks.Content("b"), Chunks.Content("c"), Chunks.Finish(), "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 50));

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        var scrape = metered.Scrape();
        Assert.Equal(3, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 3), scrape.Histogram("output_sequence_tokens"));
        Assert.False(scrape.Has("input_sequence_tokens_count", ("model", "m")));
        Assert.False(scrape.Has("cached_sequence_length_count", ("model", "m")));
    }

    [Fact]
    public void ClientThatAskedForUsage_GetsTheStreamUntouched()
    {
        var (input, _) = Generation("\n");
        var (client, scrape) = Run(ChunkedReadStream.InPiecesOf(input, 100), removeUsage: false);

        Assert.Equal(input, client);
        AssertGenerationMetrics(scrape);
    }

    [Theory]
    [InlineData("{\"choices\":[{\"delta\":{\"content\":\"x\"")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"choices\":[],\"usage\":{\"prompt_tokens\":1} trailing")]
    public void MalformedDataLine_IsForwardedUnchanged_AndNotMetered(string data)
    {
        var body = SseText.Events("\n", Chunks.Content("a"), data, Chunks.Content("b"), "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 9));

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete()));

        var scrape = metered.Scrape();
        Assert.Equal(2, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.False(scrape.Has("input_sequence_tokens_count", ("model", "m")));
    }

    [Theory]
    [InlineData("""{"reasoning_content":"Let me think"}""", 1)]
    [InlineData("""{"reasoning":"hmm"}""", 1)]
    [InlineData("""{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}""", 1)]
    [InlineData("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}""", 1)]
    [InlineData("""{"content":"x"}""", 1)]
    [InlineData("""{"content":""}""", 0)]
    [InlineData("""{"content":null}""", 0)]
    [InlineData("""{"role":"assistant"}""", 0)]
    [InlineData("""{"role":"assistant","content":""}""", 0)]
    [InlineData("""{"tool_calls":[]}""", 0)]
    [InlineData("""{"reasoning_content":""}""", 0)]
    [InlineData("""{}""", 0)]
    public void WhatCountsAsContent(string delta, int tokens)
    {
        var body = SseText.Events("\n", Chunks.Delta(delta));
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)));

        var client = SseText.ReadToEnd(metered.Stream);
        var live = metered.Scrape();
        metered.Meter.Complete(RequestOutcome.Success);

        Assert.Equal(body, SseText.Text(client));
        Assert.Equal(tokens, live.Value("output_tokens_total", ("model", "m")));
        Assert.Equal(tokens, live.Histogram("time_to_first_token_seconds").Count);
        // Still queued until the first content chunk.
        Assert.Equal(1 - tokens, live.Value("queued_requests", ("model", "m")));
    }

    [Fact]
    public void CommentsKeepAlivesAndFieldOnlyEvents_PassThrough_AndAreNeverContent()
    {
        var body = ": ping\n\n\n\nid: 7\nevent: message\n\nretry: 1000\n\n" + SseText.Event("\n", Chunks.Content("a")) + ": ping\r\n\r\n" + SseText.Event("\n", "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 3));

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete(readSize: 2)));
        Assert.Equal(1, metered.Scrape().Value("output_tokens_total", ("model", "m")));
    }

    [Fact]
    public void MultiLineData_IsJoinedBeforeParsing()
    {
        var chunk = "data: {\"choices\":[],\ndata: \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n";
        var body = SseText.Events("\n", Chunks.Content("a")) + chunk + SseText.Event("\n", "[DONE]");
        using var metered = new MeteredStream(ChunkedReadStream.InPiecesOf(SseText.Utf8(body), 16));

        Assert.Equal(SseText.Events("\n", Chunks.Content("a"), "[DONE]"), SseText.Text(metered.ReadAllAndComplete()));
        Assert.Equal((1, 3), metered.Scrape().Histogram("input_sequence_tokens"));
    }

    [Fact]
    public void Ttft_IsFromTheMeterCreation_ToTheFirstContentChunk_NotTheRoleChunk()
    {
        var time = new ManualTimeProvider();
        var pieces = new[] { Chunks.Role(), Chunks.Content("a"), Chunks.Content("b"), Chunks.Content("c") }
            .Select(e => SseText.Utf8(SseText.Event("\n", e))).ToArray();
        double[] secondsBeforeRead = [1, 1.5, 0.25, 0.5];
        var upstream = WithClock(ChunkedReadStream.OfPieces(pieces), time, i => TimeSpan.FromSeconds(secondsBeforeRead[i]));
        using var metered = new MeteredStream(upstream, time: time);
        time.AdvanceSeconds(0.5); // the request waited before its response started

        metered.ReadAllAndComplete();

        var scrape = metered.Scrape();
        Assert.Equal((1, 3), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal(1, scrape.Bucket("time_to_first_token_seconds", "4.7"));
        Assert.Equal(0, scrape.Bucket("time_to_first_token_seconds", "2.2"));
        Assert.Equal((2, 0.75), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal(1, scrape.Bucket("inter_token_latency_seconds", "0.3"));
        Assert.Equal(2, scrape.Bucket("inter_token_latency_seconds", "0.56"));
        Assert.Equal((1, 3.75), scrape.Histogram("request_duration_seconds"));
    }

    [Fact]
    public void ResponsesStream_DeltasAreContent_UsageComesFromResponseCompleted()
    {
        var events = new[]
        {
            ("response.created", """{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","usage":null}}"""),
            ("response.output_item.added", """{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}}"""),
            ("response.output_text.delta", """{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}"""),
            ("response.output_text.delta", """{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" there"}"""),
            ("response.output_text.delta", """{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":""}"""),
            ("response.output_text.done", """{"type":"response.output_text.done","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hi there"}"""),
            ("response.completed", """{"type":"response.completed","sequence_number":6,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"Hi there"}]}],"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":3},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":13}}}"""),
        };
        var body = string.Concat(events.Select(e => $"event: {e.Item1}\ndata: {e.Item2}\n\n"));
        var time = new ManualTimeProvider();
        var upstream = WithClock(ChunkedReadStream.OfPieces([.. events.Select(e => SseText.Utf8($"event: {e.Item1}\ndata: {e.Item2}\n\n"))]), time, TimeSpan.FromSeconds(0.125));
        using var metered = new MeteredStream(upstream, removeUsageChunk: true, endpoint: MeteredEndpoint.Responses, time: time);

        Assert.Equal(body, SseText.Text(metered.ReadAllAndComplete(readSize: 100)));

        Assert.True(metered.Meter.EndedWell);
        var scrape = metered.Scrape();
        Assert.Equal(1, scrape.Value("requests_started_total", ("model", "m"), ("endpoint", "responses"), ("request_type", "stream")));
        Assert.Equal(4, scrape.Value("output_tokens_total", ("model", "m")));
        Assert.Equal((1, 0.375), scrape.Histogram("time_to_first_token_seconds"));
        Assert.Equal((1, 0.125), scrape.Histogram("inter_token_latency_seconds"));
        Assert.Equal((1, 9), scrape.Histogram("input_sequence_tokens"));
        Assert.Equal((1, 4), scrape.Histogram("output_sequence_tokens"));
        Assert.Equal((1, 3), scrape.Histogram("cached_sequence_length"));
    }

    [Fact]
    public void ResponsesStream_CutBeforeResponseCompleted_DoesNotEndWell()
    {
        var body = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n";
        using var metered = new MeteredStream(ChunkedReadStream.SplitAt(SseText.Utf8(body)), endpoint: MeteredEndpoint.Responses);

        metered.ReadAllAndComplete();

        Assert.False(metered.Meter.EndedWell);
        Assert.Equal((1, 1), metered.Scrape().Histogram("output_sequence_tokens"));
    }

    private static ChunkedReadStream WithClock(ChunkedReadStream source, ManualTimeProvider time, TimeSpan beforeEachRead) =>
        WithClock(source, time, _ => beforeEachRead);

    /// <summary>Makes the clock advance before each upstream read (by the read's index).</summary>
    private static ChunkedReadStream WithClock(ChunkedReadStream source, ManualTimeProvider time, Func<int, TimeSpan> beforeRead)
    {
        source.BeforeRead = i => time.Advance(beforeRead(i));
        return source;
    }
}

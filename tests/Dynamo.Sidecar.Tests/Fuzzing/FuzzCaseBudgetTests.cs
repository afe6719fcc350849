namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>The fuzz tests together run at least 100,000 generated cases per run (each with every seed).</summary>
public class FuzzCaseBudgetTests
{
    /// <summary>Cases per run, by test (an SSE case is read twice: removeUsageChunk false and true).</summary>
    internal static IReadOnlyDictionary<string, int> CasesPerRun
    {
        get
        {
            var seeds = Fuzz.SeedValues.Length;
            return new Dictionary<string, int>
            {
                [nameof(SseMeteringStreamFuzzTests.ChatAndCompletionStreams_RandomlyMutated_MatchTheOracle)] = seeds * SseMeteringStreamFuzzTests.RealisticCases,
                [nameof(SseMeteringStreamFuzzTests.ResponsesStreams_RandomlyMutated_MatchTheOracle)] = seeds * SseMeteringStreamFuzzTests.ResponsesCases,
                [nameof(SseMeteringStreamFuzzTests.SmallEventCaps_EventsOverTheCapPassUnparsed)] = seeds * SseMeteringStreamFuzzTests.SmallCapCases,
                [nameof(SseMeteringStreamFuzzTests.TokenSoup_MatchesTheOracle)] = seeds * SseMeteringStreamFuzzTests.SoupCases,
                [nameof(SseMeteringStreamFuzzTests.LongStreams_NeverHoldMoreThanOneEvent)] = seeds * SseMeteringStreamFuzzTests.LongStreamCases,
                [nameof(CompletionChunkStreamFuzzTests.RealisticStreams_EveryChunkReadsAsTheFullParseReadsIt)] = seeds * CompletionChunkStreamFuzzTests.RealisticCases,
                [nameof(CompletionChunkStreamFuzzTests.SameEnvelope_AnyTextOrOneByteOff_ReadsAsTheFullParseReadsIt)] = seeds * CompletionChunkStreamFuzzTests.TextSwapCases,
                [nameof(JsonReaderFuzzTests.UnaryUsageReader_InRandomPieces_NeverThrows_AndAgreesWithJsonDocument)] = seeds * JsonReaderFuzzTests.UnaryCases,
                [nameof(JsonReaderFuzzTests.ChunkAndEventReaders_OnMutatedPayloads_NeverThrow_AndAgreeWithJsonDocument)] = seeds * JsonReaderFuzzTests.Payloads,
                [nameof(JsonReaderFuzzTests.RequestBody_AndUsageRewriter_OnMutatedBodies)] = seeds * JsonReaderFuzzTests.RequestCases,
            };
        }
    }

    [Fact]
    public void AllFuzzTestsTogether_RunAtLeast100000Cases()
    {
        Assert.InRange(CasesPerRun.Values.Sum(), 100_000, int.MaxValue);
    }
}

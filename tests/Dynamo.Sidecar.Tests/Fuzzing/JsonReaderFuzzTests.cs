using System.Runtime.InteropServices;
using System.Text.Json;
using Dynamo.Sidecar.OpenAi;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Seeded fuzzing of the JSON readers: <see cref="UnaryUsageReader"/> against <see cref="JsonDocument"/> whatever the
/// split, the chunk/event readers and <see cref="RequestBody.TryParse"/> on mutated input, and
/// <see cref="UsageRequestRewriter"/> on every streaming body the parser accepts.
/// </summary>
public class JsonReaderFuzzTests
{
    internal const int UnaryCases = 5_000;
    internal const int Payloads = 10_000;
    internal const int RequestCases = 6_500;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 1024 };

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void UnaryUsageReader_InRandomPieces_NeverThrows_AndAgreesWithJsonDocument(int seed)
    {
        for (var i = 0; i < UnaryCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var tree = JsonBodyGenerator.UnaryResponse(rng);
            if (rng.Chance(0.3))
            {
                JMutator.Mutate(rng, tree, rng.Next(1, 3), asChunk: false, JsonBodyGenerator.Usage);
            }

            var body = JsonBodyGenerator.Write(rng, tree);
            if (rng.Chance(0.3))
            {
                body = Fuzz.MutateBytes(rng, body, rng.Next(1, 4), allowLongLines: false);
            }

            var expected = OracleUnaryUsage(body);
            var pieces = Fuzz.RandomPieces(rng, body.Length);
            var usage = Feed(body, pieces, 1024 * 1024, out var error);
            var describe = () => $"seed {seed}, case {i} (Fuzz.CaseRandom({seed}, {i})): pieces {string.Join(",", pieces.Select(p => p.Length))}\nbody: {Fuzz.Show(body, 3000)}";
            if (error is not null)
            {
                Assert.Fail($"UnaryUsageReader threw {error}\n{describe()}");
            }

            if (expected is { } oracle && usage != oracle)
            {
                Assert.Fail($"UnaryUsageReader read {usage}, JsonDocument says {oracle}\n{describe()}");
            }

            // A small retention cap makes it give up on long tokens, never throw.
            Feed(body, pieces, rng.Next(1, 300), out error);
            if (error is not null)
            {
                Assert.Fail($"UnaryUsageReader (small cap) threw {error}\n{describe()}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void ChunkAndEventReaders_OnMutatedPayloads_NeverThrow_AndAgreeWithJsonDocument(int seed)
    {
        var payloads = 0;
        for (var i = 0; payloads < Payloads; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var endpoint = rng.Next(3) switch
            {
                0 => MeteredEndpoint.ChatCompletions,
                1 => MeteredEndpoint.Completions,
                _ => MeteredEndpoint.Responses,
            };
            var stream = rng.Chance(0.15) ? SseStreamGenerator.Soup(rng, endpoint) : SseStreamGenerator.Realistic(rng, endpoint, mutate: true);
            foreach (var ev in SseOracle.Frame(stream.Bytes))
            {
                if (ev.Data is null || payloads == Payloads)
                {
                    continue;
                }

                payloads++;
                var data = ev.Data;
                if (rng.Chance(0.2))
                {
                    data = Fuzz.MutateBytes(rng, data, 1, allowLongLines: false);
                }

                CheckChunkReaders(data, () => $"seed {seed}, stream {i} (Fuzz.CaseRandom({seed}, {i})), payload {payloads}: {Fuzz.Show(data, 3000)}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fuzz.Seeds), MemberType = typeof(Fuzz))]
    public void RequestBody_AndUsageRewriter_OnMutatedBodies(int seed)
    {
        var rewritten = 0;
        for (var i = 0; i < RequestCases; i++)
        {
            var rng = Fuzz.CaseRandom(seed, i);
            var tree = JsonBodyGenerator.Request(rng);
            if (rng.Chance(0.2))
            {
                JMutator.Mutate(rng, tree, 1, asChunk: false, JsonBodyGenerator.Usage);
            }

            var body = JsonBodyGenerator.Write(rng, tree);
            if (rng.Chance(0.25))
            {
                body = Fuzz.MutateBytes(rng, body, rng.Next(1, 4), allowLongLines: false);
            }

            if (CheckRequest(body, () => $"seed {seed}, case {i} (Fuzz.CaseRandom({seed}, {i})): {Fuzz.Show(body, 3000)}"))
            {
                rewritten++;
            }
        }

        // Enough of the bodies are rewritten for the rewriter's properties to mean something.
        Assert.InRange(rewritten, RequestCases / 5, RequestCases);
    }

    private static Usage Feed(byte[] body, List<(int Start, int Length)> pieces, int maxRetainedBytes, out Exception? error)
    {
        error = null;
        try
        {
            using var reader = new UnaryUsageReader(maxRetainedBytes);
            foreach (var (start, length) in pieces)
            {
                reader.Append(body.AsSpan(start, length));
            }

            return reader.Usage;
        }
        catch (Exception e)
        {
            error = e;
            return Usage.None;
        }
    }

    /// <summary>The top-level usage of a valid JSON object body (last <c>usage</c> wins); null when the body is not one.</summary>
    private static Usage? OracleUnaryUsage(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var usage = Usage.None;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals("usage"))
                {
                    usage = OracleUsage(property.Value);
                }
            }

            return usage;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A usage object's counts: both spellings, last one wins, anything but an integer in [0, 2^63) is "not reported".</summary>
    private static Usage OracleUsage(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object)
        {
            return Usage.None;
        }

        long prompt = -1, completion = -1, cached = -1, reasoning = -1;
        foreach (var property in usage.EnumerateObject())
        {
            if (property.NameEquals("prompt_tokens") || property.NameEquals("input_tokens"))
            {
                prompt = Count(property.Value);
            }
            else if (property.NameEquals("completion_tokens") || property.NameEquals("output_tokens"))
            {
                completion = Count(property.Value);
            }
            else if (property.NameEquals("prompt_tokens_details") || property.NameEquals("input_tokens_details"))
            {
                cached = Detail(property.Value, "cached_tokens");
            }
            else if (property.NameEquals("completion_tokens_details") || property.NameEquals("output_tokens_details"))
            {
                // SPEC §2 reasoning_tokens.
                reasoning = Detail(property.Value, "reasoning_tokens");
            }
        }

        return new Usage(prompt, completion, cached, reasoning);
    }

    /// <summary>A <c>*_details</c> object's count (last one wins), -1 when it has none.</summary>
    private static long Detail(JsonElement details, string name)
    {
        var count = -1L;
        if (details.ValueKind == JsonValueKind.Object)
        {
            foreach (var detail in details.EnumerateObject())
            {
                if (detail.NameEquals(name))
                {
                    count = Count(detail.Value);
                }
            }
        }

        return count;
    }

    private static long Count(JsonElement value) => SseOracle.IsCount(value) ? value.GetInt64() : -1;

    private static JsonElement? Last(JsonElement obj, string name)
    {
        JsonElement? last = null;
        foreach (var property in obj.EnumerateObject())
        {
            if (property.NameEquals(name))
            {
                last = property.Value;
            }
        }

        return last;
    }

    private static void CheckChunkReaders(byte[] data, Func<string> describe)
    {
        bool chunkRead, eventRead;
        ChunkFacts chunk, ev;
        try
        {
            chunkRead = CompletionChunkReader.TryRead(data, out chunk);
            eventRead = ResponsesEventReader.TryRead(data, out ev);
        }
        catch (Exception e)
        {
            Assert.Fail($"a chunk reader threw {e}\n{describe()}");
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data, DocumentOptions);
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            var isObject = root.ValueKind == JsonValueKind.Object;
            if (chunkRead != isObject || eventRead != isObject)
            {
                Assert.Fail($"valid JSON ({root.ValueKind}): CompletionChunkReader {chunkRead}, ResponsesEventReader {eventRead}\n{describe()}");
            }

            if (!isObject)
            {
                return;
            }

            var usage = Last(root, "usage") is { } u ? OracleUsage(u) : Usage.None;
            if (chunk.Usage != usage)
            {
                Assert.Fail($"CompletionChunkReader usage {chunk.Usage}, JsonDocument {usage}\n{describe()}");
            }

            var verdict = SseOracle.UsageOnlyVerdict(data);
            if (chunk.IsUsageOnly != (verdict == Removal.Remove))
            {
                Assert.Fail($"CompletionChunkReader IsUsageOnly {chunk.IsUsageOnly}, oracle {verdict}\n{describe()}");
            }

            var response = Last(root, "response");
            var responseUsage = response is { ValueKind: JsonValueKind.Object } r && Last(r, "usage") is { } ru ? OracleUsage(ru) : Usage.None;
            if (ev.Usage != responseUsage)
            {
                Assert.Fail($"ResponsesEventReader usage {ev.Usage}, JsonDocument {responseUsage}\n{describe()}");
            }
        }
    }

    /// <returns>True when the body was rewritten.</returns>
    private static bool CheckRequest(byte[] original, Func<string> describe)
    {
        bool accepted;
        RequestBody body;
        try
        {
            accepted = RequestBody.TryParse(original, out body);
        }
        catch (Exception e)
        {
            Assert.Fail($"RequestBody.TryParse threw {e}\n{describe()}");
            return false;
        }

        JsonDocument? document = null;
        try
        {
            document = JsonDocument.Parse(original, DocumentOptions);
        }
        catch (JsonException)
        {
        }

        using (document)
        {
            var isObject = document?.RootElement.ValueKind == JsonValueKind.Object;
            if (accepted && !isObject)
            {
                Assert.Fail($"RequestBody.TryParse accepted a body that is not a JSON object\n{describe()}");
            }

            if (!accepted)
            {
                if (isObject && System.Text.Unicode.Utf8.IsValid(original) && !HasLoneSurrogateModel(document!.RootElement))
                {
                    Assert.Fail($"RequestBody.TryParse rejected a valid JSON object\n{describe()}");
                }

                return false;
            }

            var root = document!.RootElement;
            var model = Last(root, "model") is { ValueKind: JsonValueKind.String } m ? m.GetString() : null;
            var stream = Last(root, "stream") is { ValueKind: JsonValueKind.True };
            var options = Last(root, "stream_options");
            var wantsUsage = options is { ValueKind: JsonValueKind.Object } o && Last(o, "include_usage") is { ValueKind: JsonValueKind.True };
            if (body.Model != model || body.Stream != stream || body.ClientWantsUsage != wantsUsage)
            {
                Assert.Fail($"RequestBody read (model {body.Model}, stream {body.Stream}, wants usage {body.ClientWantsUsage}), " +
                    $"JsonDocument says ({model}, {stream}, {wantsUsage})\n{describe()}");
            }

            var result = UsageRequestRewriter.Rewrite(original, body);
            var optionsKind = options?.ValueKind;
            if (!stream || wantsUsage || optionsKind is not (null or JsonValueKind.Null or JsonValueKind.Object))
            {
                // Non-streaming bodies, clients that asked for usage, and a stream_options that is not an object
                // (the client's mistake, for the worker to answer) go upstream byte for byte.
                if (!result.Span.SequenceEqual(original))
                {
                    Assert.Fail($"body changed though it needed no rewrite: {Fuzz.Show(result.Span, 3000)}\n{describe()}");
                }

                return false;
            }

            CheckRewritten(root, result.ToArray(), describe);
            return true;
        }
    }

    /// <summary>
    /// A <c>model</c> string with an escaped lone surrogate (<c>"\ud800"</c>) is valid JSON to <see cref="JsonDocument"/>
    /// but cannot become a .NET string; <see cref="RequestBody.TryParse"/> then treats the body as not JSON (forwarded
    /// unchanged, SPEC §4), which is a defensible reading of I-JSON, so such bodies are exempt from "valid JSON is accepted".
    /// </summary>
    private static bool HasLoneSurrogateModel(JsonElement root)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (property.NameEquals("model") && property.Value.ValueKind == JsonValueKind.String)
            {
                try
                {
                    property.Value.GetString();
                }
                catch (InvalidOperationException)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static void CheckRewritten(JsonElement original, byte[] rewritten, Func<string> describe)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rewritten, DocumentOptions);
        }
        catch (JsonException e)
        {
            Assert.Fail($"rewritten body is not JSON ({e.Message}): {Fuzz.Show(rewritten, 3000)}\n{describe()}");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            var before = original.EnumerateObject().ToList();
            var after = root.ValueKind == JsonValueKind.Object ? root.EnumerateObject().ToList() : [];
            var lastOptions = before.FindLastIndex(p => p.NameEquals("stream_options"));
            var fail = (string what) => Assert.Fail($"rewritten body {what}: {Fuzz.Show(rewritten, 3000)}\n{describe()}");
            if (after.Count != before.Count + (lastOptions < 0 ? 1 : 0))
            {
                fail($"has {after.Count} top-level members, the original {before.Count}");
            }

            for (var k = 0; k < before.Count; k++)
            {
                if (!RawName(before[k]).SequenceEqual(RawName(after[k])))
                {
                    fail($"renamed or reordered member #{k}");
                }

                if (k != lastOptions && !SameAsWritten(before[k].Value, after[k].Value))
                {
                    fail($"changed member {Fuzz.Show(RawName(before[k]))}");
                }
            }

            var options = after[lastOptions < 0 ? after.Count - 1 : lastOptions];
            if (!options.NameEquals("stream_options") || options.Value.ValueKind != JsonValueKind.Object
                || Last(options.Value, "include_usage") is not { ValueKind: JsonValueKind.True })
            {
                fail("does not carry stream_options.include_usage: true");
            }

            // The client's other stream_options fields are kept (SPEC §1.3).
            var kept = (JsonElement value) => value.ValueKind == JsonValueKind.Object
                ? value.EnumerateObject().Where(p => !p.NameEquals("include_usage")).ToList()
                : [];
            var keptBefore = lastOptions < 0 ? [] : kept(before[lastOptions].Value);
            var keptAfter = kept(options.Value);
            if (keptBefore.Count != keptAfter.Count
                || keptBefore.Zip(keptAfter).Any(pair => !RawName(pair.First).SequenceEqual(RawName(pair.Second)) || !SameAsWritten(pair.First.Value, pair.Second.Value)))
            {
                fail("lost or changed the client's other stream_options fields");
            }
        }
    }

    private static ReadOnlySpan<byte> RawName(JsonProperty property) => JsonMarshal.GetRawUtf8PropertyName(property);

    /// <summary>
    /// Kept "as the client wrote it" (SPEC §1.3): the same bytes, which is stronger than <see cref="JsonElement.DeepEquals"/>
    /// (and, unlike it, does not throw on exponents out of range or lone surrogates).
    /// </summary>
    private static bool SameAsWritten(JsonElement before, JsonElement after) =>
        JsonMarshal.GetRawUtf8Value(before).SequenceEqual(JsonMarshal.GetRawUtf8Value(after));
}

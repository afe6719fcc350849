using System.Text;

namespace Dynamo.Sidecar.Tests.Fuzzing;

/// <summary>
/// Seeds, random helpers and byte-level mutations shared by the fuzz tests. Every case gets its own
/// <see cref="Random"/> derived from (seed, case index), so a failure message that names both replays
/// exactly that case: <c>Fuzz.CaseRandom(seed, index)</c>.
/// </summary>
internal static class Fuzz
{
    /// <summary>The seeds every fuzz theory runs with; a failing one is named in the test's display name.</summary>
    public static TheoryData<int> Seeds
    {
        get
        {
            var data = new TheoryData<int>();
            foreach (var seed in SeedValues)
            {
                data.Add(seed);
            }

            return data;
        }
    }

    public static readonly int[] SeedValues = [20240611, 7, 31337, 4242];

    public static Random CaseRandom(int seed, int index) => new(unchecked((seed * 1_000_003) ^ (index * 7919) ^ 0x5bd1e995));

    public static T Pick<T>(this Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    public static bool Chance(this Random rng, double probability) => rng.NextDouble() < probability;

    /// <summary>Small sizes much more often than large ones (most inputs stay small, so the run stays fast).</summary>
    public static int SkewedSize(this Random rng, int max)
    {
        var size = rng.Next(4) switch
        {
            0 => rng.Next(1, 4),
            1 => rng.Next(1, 32),
            2 => rng.Next(1, 512),
            _ => rng.Next(1, max + 1),
        };
        return Math.Min(size, max);
    }

    public static readonly string[] HugeNumbers =
    [
        "9223372036854775807", "9223372036854775806", "9223372036854775808", "99999999999999999999999999",
        "-1", "-9223372036854775808", "1e400", "-1e400", "1E2", "12.0", "0.5", "-0", "1e-7", "0",
        "4611686018427387904",
    ];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xEF, 0xBB, 0xBF],
    ];

    private static readonly byte[][] Newlines = [[(byte)'\n'], [(byte)'\r'], [(byte)'\r', (byte)'\n'], [(byte)'\n', (byte)'\n'], [(byte)'\r', (byte)'\r']];

    /// <summary>Applies <paramref name="count"/> random byte-level mutations.</summary>
    public static byte[] MutateBytes(Random rng, byte[] input, int count, bool allowLongLines = true)
    {
        var bytes = new List<byte>(input);
        for (var m = 0; m < count; m++)
        {
            var at = rng.Next(bytes.Count + 1);
            switch (rng.Next(12))
            {
                case 0 when bytes.Count > 0:
                    var flip = rng.Next(bytes.Count);
                    bytes[flip] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    bytes.Insert(at, (byte)rng.Next(256));
                    break;
                case 2 when bytes.Count > 0:
                    var start = rng.Next(bytes.Count);
                    bytes.RemoveRange(start, Math.Min(bytes.Count - start, rng.SkewedSize(64)));
                    break;
                case 3:
                case 4:
                    bytes.InsertRange(at, rng.Pick(Newlines));
                    break;
                case 5 when rng.Chance(0.3):
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 6:
                    var garbage = new byte[rng.SkewedSize(64)];
                    rng.NextBytes(garbage);
                    bytes.InsertRange(at, garbage);
                    break;
                case 7:
                    bytes.InsertRange(at, rng.Pick(InvalidUtf8));
                    break;
                case 8 when allowLongLines && rng.Chance(0.15):
                    var line = (rng.Next(3) switch { 0 => "data: ", 1 => ": ", _ => "" }) + new string(rng.Next(2) == 0 ? 'x' : ' ', rng.Next(1000, 40_000));
                    bytes.InsertRange(at, Encoding.ASCII.GetBytes(line));
                    bytes.InsertRange(at + line.Length, rng.Pick(Newlines));
                    break;
                case 9 when bytes.Count > 0:
                    // Duplicate a random range (often a whole event or a part of one) somewhere else.
                    var from = rng.Next(bytes.Count);
                    var range = bytes.GetRange(from, Math.Min(bytes.Count - from, rng.SkewedSize(400)));
                    bytes.InsertRange(rng.Next(bytes.Count + 1), range);
                    break;
                case 10:
                    // Structural characters break JSON and SSE in the most interesting places.
                    bytes.InsertRange(at, Encoding.ASCII.GetBytes(rng.Pick(Tokens)));
                    break;
                case 11 when bytes.Count > 0:
                    var digit = bytes.FindIndex(rng.Next(bytes.Count), b => b is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        bytes.InsertRange(digit, Encoding.ASCII.GetBytes(rng.Pick(HugeNumbers)));
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "[]", "{}", "data:", "data: ", "\ndata: ", ": ping\n", "\n\n", "\r\n\r\n",
        "\"choices\":[]", "\"usage\":{\"prompt_tokens\":1}", ",\"usage\":null", "[DONE]", " ", "\t", "\0",
    ];

    /// <summary>Cuts <paramref name="length"/> bytes into random pieces (empty pieces included).</summary>
    public static List<(int Start, int Length)> RandomPieces(Random rng, int length)
    {
        var pieces = new List<(int, int)>();
        var position = 0;
        while (position < length)
        {
            if (rng.Chance(0.05))
            {
                pieces.Add((position, 0));
            }

            var size = Math.Min(length - position, rng.SkewedSize(Math.Max(1, length)));
            pieces.Add((position, size));
            position += size;
        }

        return pieces;
    }

    /// <summary>Printable form of bytes for failure messages (CR, LF and non-ASCII made visible), cut to a readable size.</summary>
    public static string Show(ReadOnlySpan<byte> bytes, int max = 600)
    {
        var text = new StringBuilder();
        foreach (var b in bytes[..Math.Min(bytes.Length, max)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        if (bytes.Length > max)
        {
            text.Append($"...(+{bytes.Length - max} bytes)");
        }

        return text.ToString();
    }
}

using System.Diagnostics;
using System.Numerics;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>
/// Counts durations in log-linear buckets (exact below 1,024 ns, then 512 buckets per power of two: within 0.2%),
/// so millions of inter-event gaps cost a fixed 140 KB instead of a sorted array. Thread-safe to record into.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int LinearLimit = 1024;
    private const int SubBuckets = 512;
    private const int SubBucketBits = 9;
    private const int MaxExponent = 42; // 2^42 ns is over an hour

    private readonly long[] _counts = new long[LinearLimit + ((MaxExponent - SubBucketBits) * SubBuckets)];
    private long _total;

    public long Count => Interlocked.Read(ref _total);

    public void RecordTicks(long ticks) => Record(ticks <= 0 ? 0 : (long)(ticks * (1e9 / Stopwatch.Frequency)));

    /// <summary>Adds one duration, in nanoseconds.</summary>
    public void Record(long nanoseconds)
    {
        Interlocked.Increment(ref _counts[Index(Math.Max(0, nanoseconds))]);
        Interlocked.Increment(ref _total);
    }

    /// <summary>p50, p90, p99 and max in milliseconds (nearest rank; a bucket reports its midpoint), or null when empty.</summary>
    public Percentiles? Percentiles()
    {
        var total = Count;
        if (total == 0)
        {
            return null;
        }

        var p50 = Rank(total, 0.50);
        var p90 = Rank(total, 0.90);
        var p99 = Rank(total, 0.99);
        double v50 = 0, v90 = 0, v99 = 0, max = 0;
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            var count = _counts[i];
            if (count == 0)
            {
                continue;
            }

            var before = seen;
            seen += count;
            var value = Midpoint(i) / 1e6;
            if (before < p50 && seen >= p50)
            {
                v50 = value;
            }

            if (before < p90 && seen >= p90)
            {
                v90 = value;
            }

            if (before < p99 && seen >= p99)
            {
                v99 = value;
            }

            max = value;
        }

        return new Percentiles(v50, v90, v99, max, (int)Math.Min(total, int.MaxValue));
    }

    private static long Rank(long total, double quantile) => Math.Max(1, (long)Math.Ceiling(quantile * total));

    private static int Index(long ns)
    {
        if (ns < LinearLimit)
        {
            return (int)ns;
        }

        var exponent = Math.Min(63 - BitOperations.LeadingZeroCount((ulong)ns), MaxExponent - 1) - SubBucketBits; // >= 1
        var mantissa = (int)Math.Min(ns >> exponent, (2 * SubBuckets) - 1) - SubBuckets; // 0..511
        return LinearLimit + ((exponent - 1) * SubBuckets) + mantissa;
    }

    private static double Midpoint(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var exponent = ((index - LinearLimit) / SubBuckets) + 1;
        var mantissa = ((index - LinearLimit) % SubBuckets) + SubBuckets;
        return (mantissa + 0.5) * (1L << exponent);
    }
}

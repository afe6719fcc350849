using System.Globalization;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>Reads a process's CPU time and memory from <c>/proc</c> (Linux).</summary>
internal static class ProcessStats
{
    // USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux ABI that .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>User plus system CPU seconds (<c>utime + stime</c>, fields 14 and 15 of <c>/proc/&lt;pid&gt;/stat</c>).</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may contain spaces: count fields after its closing one.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / TicksPerSecond;
    }

    public static double CpuSeconds(IReadOnlyList<int> pids) => pids.Sum(CpuSeconds);

    /// <summary>A <c>kB</c> line of <c>/proc/&lt;pid&gt;/status</c>, e.g. <c>VmRSS</c> (resident now) or <c>VmHWM</c> (peak resident), in bytes.</summary>
    public static long StatusBytes(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ':')
            {
                var value = line[(key.Length + 1)..].Trim();
                return long.Parse(value[..value.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {key} line.");
    }

    public static long StatusBytes(IReadOnlyList<int> pids, string key) => pids.Sum(pid => StatusBytes(pid, key));

    /// <summary>The 1-minute load average (first field of <c>/proc/loadavg</c>).</summary>
    public static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    public static bool Exists(int pid) => Directory.Exists($"/proc/{pid}");
}

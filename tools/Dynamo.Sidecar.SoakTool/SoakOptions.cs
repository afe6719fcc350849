using System.Globalization;

namespace Dynamo.Sidecar.SoakTool;

/// <summary>What one soak run does, from the command line.</summary>
internal sealed record SoakOptions
{
    public const string Usage = """
        Starts the simulated worker (Release build) and the published sidecar (127.0.0.1 only), drives concurrent mixed requests
        with client disconnects, worker cuts, stalls, slow streams and error statuses through the sidecar, then checks
        its metrics against what the clients and the worker counted, and its memory against the warm-up's.
        Ends with "N passed, M failed"; exits 1 when a check failed.

          --duration S          seconds of traffic after the warm-up (default 60)
          --warmup S            seconds of the same traffic before the memory baseline (default 30)
          --concurrency N       requests in flight at once (default 256)
          --seed N              seed of the request mix; the same seed sends the same requests per lane (default 1)
          --activity-timeout S  the sidecar's worker silence limit, so stalled workers time out (default 2)
          --base-port P         worker on P, sidecar on P+1, its admin port on P+2 (default 18800)
          --memory-tolerance F  allowed growth of managed memory and RSS over the baseline (default 0.10)
          --memory-floor-mib M  growth always allowed, for allocator noise on a small heap (default 4)
          --root DIR            the repository (default: found from this tool's location)
          --sidecar PATH        the sidecar to run: its published binary, or a Dynamo.Sidecar.dll run by dotnet
                                (default: ROOT/artifacts/sidecar/Dynamo.Sidecar, as tools/publish.sh makes it)
          --sidecar-env "N=V .." environment of the sidecar only, e.g. the runtime settings it ships with
                                (tools/soak.sh passes bench/runtime-env.sh's)
          --logs DIR            where the worker's and the sidecar's output go (default: a temporary folder)
        """;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(30);
    public int Concurrency { get; init; } = 256;
    public int Seed { get; init; } = 1;
    public TimeSpan ActivityTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public int BasePort { get; init; } = 18800;
    public double MemoryTolerance { get; init; } = 0.10;
    public long MemoryFloorBytes { get; init; } = 4L << 20;
    public required string Root { get; init; }
    public required string Sidecar { get; init; }
    public required string Logs { get; init; }
    public IReadOnlyDictionary<string, string> SidecarEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Parses <c>--name value</c> and <c>--name=value</c>; throws <see cref="ArgumentException"/> naming the option.</summary>
    public static SoakOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                throw new ArgumentException(Usage);
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'.");
            }

            var name = arg[2..];
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                values[name[..equals]] = name[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                values[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"--{name} needs a value.");
            }
        }

        var known = new HashSet<string>(["duration", "warmup", "concurrency", "seed", "activity-timeout", "base-port", "memory-tolerance", "memory-floor-mib", "root", "sidecar", "sidecar-env", "logs"]);
        foreach (var name in values.Keys.Where(name => !known.Contains(name)))
        {
            throw new ArgumentException($"Unknown option --{name}.\n{Usage}");
        }

        var root = values.GetValueOrDefault("root") ?? FindRoot();
        if (!File.Exists(Path.Combine(root, "Dynamo.Sidecar.sln")))
        {
            throw new ArgumentException($"--root {root} is not the repository (no Dynamo.Sidecar.sln).");
        }

        var sidecar = Path.GetFullPath(values.GetValueOrDefault("sidecar") ?? Path.Combine(root, "artifacts/sidecar/Dynamo.Sidecar"));
        if (!File.Exists(sidecar))
        {
            throw new ArgumentException($"--sidecar {sidecar} does not exist: run tools/publish.sh.");
        }

        return new SoakOptions
        {
            Duration = TimeSpan.FromSeconds(Number(values, "duration", 60, min: 1)),
            Warmup = TimeSpan.FromSeconds(Number(values, "warmup", 30, min: 1)),
            Concurrency = (int)Number(values, "concurrency", 256, min: 1),
            Seed = (int)Number(values, "seed", 1, min: 0),
            ActivityTimeout = TimeSpan.FromSeconds(Number(values, "activity-timeout", 2, min: 0.5)),
            BasePort = (int)Number(values, "base-port", 18800, min: 1024),
            MemoryTolerance = Number(values, "memory-tolerance", 0.10, min: 0),
            MemoryFloorBytes = (long)(Number(values, "memory-floor-mib", 4, min: 0) * 1024 * 1024),
            Root = root,
            Sidecar = sidecar,
            Logs = values.GetValueOrDefault("logs") ?? Directory.CreateTempSubdirectory("dynamo-soak-").FullName,
            SidecarEnvironment = Variables(values.GetValueOrDefault("sidecar-env") ?? ""),
        };
    }

    private static Dictionary<string, string> Variables(string text)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--sidecar-env: '{pair}' is not NAME=value.");
            }

            variables[pair[..equals]] = pair[(equals + 1)..];
        }

        return variables;
    }

    private static double Number(Dictionary<string, string> values, string name, double fallback, double min)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= min
            ? value
            : throw new ArgumentException($"--{name} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dynamo.Sidecar.sln")))
            {
                return dir.FullName;
            }
        }

        throw new ArgumentException("Cannot find the repository above this tool: pass --root.");
    }
}

using System.Globalization;

namespace Dynamo.Sidecar.LoadTool;

/// <summary>What one load run does, from the command line.</summary>
internal sealed record LoadOptions
{
    public const string Usage = """
        Drives concurrent streaming chat completions at an OpenAI-compatible endpoint and measures what the client sees.

          --url URL          base URL of the target (required), e.g. http://127.0.0.1:8080
          --streams N        concurrent streams (default 16)
          --tokens N         max_tokens of each request, i.e. events per stream (default 100)
          --rate R           tokens/s asked of the simulated worker (header x-sim-tokens-per-second); 0 = as fast as it can
          --duration S       keep N streams going for S seconds (a finished stream starts a new one), then stop;
                             without it every stream runs once, to completion
          --ramp S           spread the stream starts over S seconds (default 0)
          --pid P[,P...]     the proxy's process(es): CPU seconds from /proc/P/stat and RSS from /proc/P/status, summed
          --worker-pid P     the worker's process, for its CPU seconds (context only)
          --baseline FILE    a --json result of the same load sent straight to the worker: adds the gap added per event
          --label NAME       name of the target in the result (default: the URL)
          --warmup S         seconds of full-speed streaming before measuring, so every process on the path has
                             compiled its hot code (default 3; 0 = none)
          --window S         paced mode: once every stream is open (and 1 s later), measure proxy CPU and events for S
                             seconds, then cut the streams; the streams must be long enough to stay open through it
          --probes N         while every stream is open, N time-to-first-token probes one after another, each a
                             1-token stream on a NEW connection (the way a new client arrives); needs --window
          --probe-interval S pause between probes (default 0.05)
          --unary N          instead of streams: N non-streaming chat completions, --streams at a time, each answer
                             --tokens tokens; reports the latency of each (request sent to body read)
          --header "N: V"    an extra request header (repeatable), e.g. a gateway's provider headers
          --timeout S        hard limit on the whole run (default 600)
          --model NAME       model field of the requests (default simulated-model)
          --json             print the result as JSON on stdout (human-readable text otherwise)
          --out FILE         also write the JSON result to FILE
        """;

    public required Uri Url { get; init; }
    public int Streams { get; init; } = 16;
    public int Tokens { get; init; } = 100;
    public double? Rate { get; init; }
    public TimeSpan? Duration { get; init; }
    public TimeSpan Ramp { get; init; } = TimeSpan.Zero;
    public IReadOnlyList<int> Pids { get; init; } = [];
    public int? WorkerPid { get; init; }
    public string? BaselineFile { get; init; }
    public string Label { get; init; } = "";
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(600);
    public string Model { get; init; } = "simulated-model";
    public bool Json { get; init; }
    public string? OutFile { get; init; }
    public TimeSpan? Window { get; init; }
    public int Probes { get; init; }
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(50);
    public int? Unary { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>Parses <c>--name value</c> and <c>--name=value</c> arguments; throws <see cref="ArgumentException"/> with a message naming the option.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'.");
            }

            var name = arg[2..];
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (name == "header" && i + 1 < args.Count)
            {
                headers.Add(Header(args[++i]));
            }
            else if (equals >= 0)
            {
                values[name[..equals]] = name[(equals + 1)..];
            }
            else if (name is "json" or "help")
            {
                flags.Add(name);
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

        if (flags.Contains("help"))
        {
            throw new ArgumentException(Usage);
        }

        var known = new HashSet<string>(["url", "streams", "tokens", "rate", "duration", "ramp", "pid", "worker-pid", "baseline", "label", "warmup", "timeout", "model", "out", "window", "probes", "probe-interval", "unary"]);
        foreach (var name in values.Keys.Where(name => !known.Contains(name)))
        {
            throw new ArgumentException($"Unknown option --{name}.");
        }

        if (!values.TryGetValue("url", out var url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("--url must be an absolute http(s) URL.");
        }

        return new LoadOptions
        {
            Url = uri,
            Streams = Int(values, "streams", 16, min: 1),
            Tokens = Int(values, "tokens", 100, min: 1),
            Rate = values.ContainsKey("rate") ? Number(values, "rate", 0) : null,
            Duration = values.ContainsKey("duration") ? TimeSpan.FromSeconds(Number(values, "duration", 0.001)) : null,
            Ramp = TimeSpan.FromSeconds(values.ContainsKey("ramp") ? Number(values, "ramp", 0) : 0),
            Pids = values.TryGetValue("pid", out var pids) ? [.. pids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => Pid("pid", p))] : [],
            WorkerPid = values.TryGetValue("worker-pid", out var workerPid) ? Pid("worker-pid", workerPid) : null,
            BaselineFile = values.GetValueOrDefault("baseline"),
            Label = values.GetValueOrDefault("label") ?? uri.ToString(),
            Warmup = TimeSpan.FromSeconds(values.ContainsKey("warmup") ? Number(values, "warmup", 0) : 3),
            Timeout = TimeSpan.FromSeconds(values.ContainsKey("timeout") ? Number(values, "timeout", 1) : 600),
            Model = values.GetValueOrDefault("model") ?? "simulated-model",
            Json = flags.Contains("json"),
            OutFile = values.GetValueOrDefault("out"),
            Window = values.ContainsKey("window") ? TimeSpan.FromSeconds(Number(values, "window", 0.1)) : null,
            Probes = values.ContainsKey("probes") ? Int(values, "probes", 0, min: 0) : 0,
            ProbeInterval = TimeSpan.FromSeconds(values.ContainsKey("probe-interval") ? Number(values, "probe-interval", 0) : 0.05),
            Unary = values.ContainsKey("unary") ? Int(values, "unary", 0, min: 1) : null,
            Headers = headers,
        }.Validated();
    }

    private LoadOptions Validated() =>
        Probes > 0 && Window is null ? throw new ArgumentException("--probes needs --window (probes run while every stream is open).")
        : Window is not null && (Duration is not null || Unary is not null) ? throw new ArgumentException("--window does not go with --duration or --unary.")
        : this;

    private static KeyValuePair<string, string> Header(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
            ? new(text[..colon].Trim(), text[(colon + 1)..].Trim())
            : throw new ArgumentException($"--header must be 'Name: value', not '{text}'.");
    }

    private static int Int(Dictionary<string, string> values, string name, int fallback, int min)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min
            ? value
            : throw new ArgumentException($"--{name} must be an integer of at least {min}.");
    }

    private static double Number(Dictionary<string, string> values, string name, double min) =>
        double.TryParse(values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= min
            ? value
            : throw new ArgumentException($"--{name} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}.");

    private static int Pid(string name, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : throw new ArgumentException($"--{name} must be a process id (or a comma-separated list of them).");
}

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>
/// Where the real things live: llama.cpp's <c>llama-server</c> and the tiny model, Debian's
/// <c>prometheus</c> and <c>promtool</c>, <c>node</c> and the <c>openai</c> npm client.
/// <c>tools/test-deps.sh</c> installs them and writes their paths to
/// <c>$HOME/.cache/dynamo-sidecar/e2e.env</c> (or <c>$DYNAMO_SIDECAR_E2E_ENV</c>); without that file the
/// same conventions the script uses are tried. A missing piece fails the test that needs it, with a
/// message that says to run the script: these tests never skip.
/// </summary>
internal sealed class TestDependencies
{
    private const string Hint = "Run tools/test-deps.sh (from the repository root) to install the end-to-end test dependencies.";
    private const string DefaultLlamaCache = ".cache/dynamo-sidecar/llama/node-llama-cpp-3.22.1";

    private readonly Dictionary<string, string> _env;

    private TestDependencies(Dictionary<string, string> env, string envFile, string repoRoot)
    {
        _env = env;
        EnvFile = envFile;
        RepoRoot = repoRoot;
    }

    public static TestDependencies Current { get; } = Load();

    public string EnvFile { get; }

    public string RepoRoot { get; }

    /// <summary>The llama.cpp cache the tools/llama scripts build into, with <c>bin/llama-server</c> and <c>models/tiny.gguf</c>.</summary>
    public string LlamaCacheDir => Get("LLAMA_CACHE_DIR")
        ?? Environment.GetEnvironmentVariable("LLAMA_CACHE_DIR")
        ?? Path.Combine(Home, DefaultLlamaCache);

    public string StartLlamaServerScript => Path.Combine(RepoRoot, "tools", "llama", "start-llama-server.sh");

    /// <summary>Checks that llama-server and the tiny model are in the cache, so the start script never starts a build.</summary>
    public void RequireLlama()
    {
        var server = Get("LLAMA_SERVER") ?? Path.Combine(LlamaCacheDir, "bin", "llama-server");
        var model = Get("LLAMA_MODEL") ?? Path.Combine(LlamaCacheDir, "models", "tiny.gguf");
        Require(File.Exists(server), $"llama-server is missing (looked for {server})");
        Require(File.Exists(model) && new FileInfo(model).Length > 0, $"the tiny model is missing (looked for {model})");
        Require(File.Exists(StartLlamaServerScript), $"{StartLlamaServerScript} is missing");
    }

    public string Prometheus => Binary("PROMETHEUS", "prometheus");

    public string Promtool => Binary("PROMTOOL", "promtool");

    public string Node => Binary("NODE", "node");

    /// <summary>This checkout's tests/e2e-node, with its node_modules (the openai and Anthropic clients) installed (<c>npm ci</c>).</summary>
    public string NodeProject
    {
        get
        {
            var dir = Path.Combine(RepoRoot, "tests", "e2e-node");
            foreach (var package in (string[])["openai", "@anthropic-ai/sdk"])
            {
                var manifest = Path.Combine(dir, "node_modules", package, "package.json");
                Require(File.Exists(manifest), $"the {package} npm package is not installed (looked for {manifest})");
            }

            return dir;
        }
    }

    private static string Home => Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private string? Get(string key) => _env.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    private string Binary(string key, string name)
    {
        if (Get(key) is { } configured)
        {
            Require(File.Exists(configured), $"{name} is missing (the {key} in {EnvFile} is {configured})");
            return configured;
        }

        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(dir => Path.Combine(dir, name));
        var found = candidates.FirstOrDefault(File.Exists);
        Require(found is not null, $"{name} is not on PATH nor in /usr/bin");
        return found!;
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"End-to-end test dependency missing: {problem}. {Hint}");
        }
    }

    private static TestDependencies Load()
    {
        var envFile = Environment.GetEnvironmentVariable("DYNAMO_SIDECAR_E2E_ENV")
            ?? Path.Combine(Home, ".cache", "dynamo-sidecar", "e2e.env");
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(envFile))
        {
            foreach (var line in File.ReadAllLines(envFile))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (line.StartsWith('#') || eq <= 0)
                {
                    continue;
                }

                env[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return new TestDependencies(env, envFile, Checkout.Root);
    }
}

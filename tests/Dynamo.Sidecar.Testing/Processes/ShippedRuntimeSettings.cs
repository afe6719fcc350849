using System.Text.RegularExpressions;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// The runtime settings the sidecar ships with (the GC's gen0 budget, inline socket scheduling), read from their one
/// list, <c>bench/runtime-env.sh</c>, which the benchmarks and the soak use too; <c>tools/validate-deploy.sh</c> checks
/// that <c>./run.sh</c>, the image and the manifests set the same. A sidecar process under test runs with them, as in a pod.
/// </summary>
public static partial class ShippedRuntimeSettings
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> LazyVariables = new(Read);

    public static IReadOnlyDictionary<string, string> Variables => LazyVariables.Value;

    private static IReadOnlyDictionary<string, string> Read()
    {
        var file = Path.Combine(Checkout.Root, "bench", "runtime-env.sh");
        var list = File.ReadLines(file).Select(line => RuntimeEnvLine().Match(line)).FirstOrDefault(match => match.Success)
            ?? throw new InvalidOperationException($"{file} has no runtime_env=(NAME=value ...) line");
        return list.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^runtime_env=\(([^)]*)\)\s*$")]
    private static partial Regex RuntimeEnvLine();
}

using System.Text.Json.Nodes;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>Runs one of tests/e2e-node's scripts against a base URL and returns the JSON summary it prints.</summary>
internal static class NodeClient
{
    /// <param name="script">A script in tests/e2e-node, e.g. <c>summarize.mjs</c>.</param>
    /// <param name="baseUrl">The base URL the script's client is given.</param>
    public static async Task<JsonNode> SummarizeAsync(string script, Uri baseUrl)
    {
        var deps = TestDependencies.Current;
        var project = deps.NodeProject;
        var result = await ChildProcess.RunAsync(
            deps.Node,
            [Path.Combine(project, script), baseUrl.ToString()],
            workingDirectory: project,
            timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"node {script} {baseUrl} failed: {result}");
        return JsonNode.Parse(result.StandardOutput) ?? throw new InvalidOperationException($"{script} printed nothing: {result}");
    }
}

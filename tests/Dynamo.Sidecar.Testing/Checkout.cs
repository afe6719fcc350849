namespace Dynamo.Sidecar.Testing;

/// <summary>The repository checkout the tests were built from.</summary>
public static class Checkout
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The directory with <c>Dynamo.Sidecar.sln</c>, found by walking up from the test's output directory.</summary>
    public static string Root => LazyRoot.Value;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dynamo.Sidecar.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Dynamo.Sidecar.sln not found above {AppContext.BaseDirectory}");
    }
}

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// Where the published Native AOT sidecar is: <c>$DYNAMO_SIDECAR_BINARY</c> when set (<c>./test.sh</c> sets it to what
/// it just published), else <c>artifacts/sidecar/Dynamo.Sidecar</c> in the checkout, where <c>tools/publish.sh</c>
/// puts it. A test that needs it fails when it is missing: it never falls back to the JIT build. Run outside
/// <c>./test.sh</c>, the tests run whatever <c>tools/publish.sh</c> published last, so publish again after a change.
/// </summary>
public static class PublishedSidecar
{
    public const string BinaryVariable = "DYNAMO_SIDECAR_BINARY";

    private const string Hint = "Run tools/publish.sh (from the repository root; ./test.sh does it first) to publish it.";

    /// <summary>The binary's path; throws, saying how to publish it, when it is not there.</summary>
    public static string BinaryPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } configured)
            {
                return File.Exists(configured)
                    ? Path.GetFullPath(configured)
                    : throw new InvalidOperationException($"The published sidecar binary is missing: {BinaryVariable} is {configured}, which does not exist. {Hint}");
            }

            var published = Path.Combine(Checkout.Root, "artifacts", "sidecar", "Dynamo.Sidecar");
            return File.Exists(published)
                ? published
                : throw new InvalidOperationException($"The published sidecar binary is missing: {BinaryVariable} is not set and {published} does not exist. {Hint}");
        }
    }
}

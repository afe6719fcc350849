namespace Dynamo.Sidecar.Testing;

/// <summary>Which build of the sidecar a <see cref="SidecarProcess"/> runs.</summary>
public enum SidecarBuild
{
    /// <summary><c>dotnet Dynamo.Sidecar.dll</c> from the test's output directory: the build the in-process tests run.</summary>
    Jit,

    /// <summary>The Native AOT binary <c>tools/publish.sh</c> publishes: what ships (see <see cref="PublishedSidecar"/>).</summary>
    Published,
}

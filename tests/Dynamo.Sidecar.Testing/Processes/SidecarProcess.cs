using System.Net.Sockets;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// The sidecar as a real child process, for what an in-process host cannot show: the published Native AOT binary
/// (what ships), a real SIGTERM, the process's exit and exit code, its console log. Either build runs
/// (<see cref="SidecarBuild"/>), from the command line every test sidecar starts with (<see cref="RunningSidecar.Arguments"/>),
/// on free loopback ports. The console log is one plain line per entry unless a test chooses another
/// formatter. The runtime settings are the ones the sidecar ships with (<see cref="ShippedRuntimeSettings"/>); a test's
/// environment comes after them. Killed on dispose if it is still running.
/// </summary>
public sealed class SidecarProcess : RunningSidecar
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly ServerProcess _process;

    private SidecarProcess(SidecarBuild build, ServerProcess process, Uri proxy, Uri admin)
        : base(proxy, admin)
    {
        Build = build;
        _process = process;
    }

    public SidecarBuild Build { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr, one log entry per line.</summary>
    public string Output => _process.Output;

    public IReadOnlyList<string> OutputLines => _process.OutputLines;

    /// <param name="settings">Configuration as <c>Key=value</c>, given on the command line, e.g. <c>Sidecar:DrainTimeout=00:00:02</c>.</param>
    public static Task<SidecarProcess> StartAsync(SidecarBuild build, string workerAddress, params string[] settings) =>
        StartAsync(build, workerAddress, environment: null, settings);

    /// <summary>Starts the sidecar and waits until both listeners answer.</summary>
    /// <param name="environment">Variables added to the process's environment, e.g. the standard <c>OTEL_*</c> ones.</param>
    public static async Task<SidecarProcess> StartAsync(
        SidecarBuild build, string workerAddress, IReadOnlyDictionary<string, string>? environment, params string[] settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            var proxy = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
            var admin = new Uri($"http://127.0.0.1:{FreePort.Next()}/");
            var command = Command(build, workerAddress, proxy, admin.Port, environment, settings);
            var sidecar = new SidecarProcess(build, ServerProcess.Start($"the {build} sidecar", command, keptLines: 100_000), proxy, admin);
            try
            {
                await sidecar.WaitUntilServingAsync();
                return sidecar;
            }
            catch (InvalidOperationException) when (attempt < 3 && sidecar.HasExited && sidecar.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // A port was taken between picking and binding it: pick others.
                await sidecar.DisposeAsync();
            }
            catch
            {
                await sidecar.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Runs the sidecar until it exits by itself, as one that refuses its configuration does; killed after 60 s.</summary>
    public static Task<ChildProcess.Result> RunUntilExitAsync(SidecarBuild build, string workerAddress, params string[] settings) =>
        ChildProcess.RunAsync(Command(build, workerAddress, new Uri("http://127.0.0.1:0/"), adminPort: 0, environment: null, settings));

    /// <summary>Sends SIGTERM, as the kubelet does.</summary>
    public Task TerminateAsync() => _process.TerminateAsync();

    /// <summary>Waits for the process to exit; fails with its output if it is still running after <paramref name="timeout"/>.</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    protected override ValueTask DisposeSidecarAsync() => _process.DisposeAsync();

    private static ProcessCommand Command(
        SidecarBuild build, string workerAddress, Uri proxy, int adminPort, IReadOnlyDictionary<string, string>? environment, string[] settings)
    {
        var arguments = Arguments(proxy.ToString(), adminPort, workerAddress, settings);

        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // One plain line per log entry, for the tests to read; the command line (a test's settings) overrides it.
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        foreach (var (key, value) in ShippedRuntimeSettings.Variables.Concat(environment ?? new Dictionary<string, string>()))
        {
            variables[key] = value;
        }

        switch (build)
        {
            case SidecarBuild.Jit:
                var dll = Path.Combine(AppContext.BaseDirectory, "Dynamo.Sidecar.dll");
                var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
                return new ProcessCommand(dotnet, [dll, .. arguments], variables, AppContext.BaseDirectory);
            case SidecarBuild.Published:
                // The content root (appsettings.json) is the working directory: the publish directory, as in the image.
                var binary = PublishedSidecar.BinaryPath;
                return new ProcessCommand(binary, arguments, variables, Path.GetDirectoryName(binary));
            default:
                throw new ArgumentOutOfRangeException(nameof(build), build, null);
        }
    }

    /// <summary>
    /// Waits until both listeners accept connections (the proxy listener starts after the admin listener). Without a
    /// request: a first request warms the process up, and tests of what the sidecar does while nobody calls it need it
    /// to have had none.
    /// </summary>
    private async Task WaitUntilServingAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        var last = "no connection yet";
        while (true)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"the {Build} sidecar exited with code {ExitCode} before it served. Its output:\n{Output}");
            }

            try
            {
                await ConnectAsync(AdminAddress);
                await ConnectAsync(ProxyAddress);
                return;
            }
            catch (SocketException e)
            {
                last = e.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the {Build} sidecar did not listen within {StartTimeout.TotalSeconds:0} s (last: {last}). Its output:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task ConnectAsync(Uri listener)
    {
        using var connection = new TcpClient();
        await connection.ConnectAsync(listener.Host, listener.Port);
    }
}

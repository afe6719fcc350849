using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Dynamo.Sidecar.IntegrationTests.Support;

/// <summary>
/// The sidecar as a real child process (the build output copied next to these tests), for what an in-process
/// host cannot show: a real SIGTERM, the process's exit and exit code, its console log.
/// Killed on dispose if it is still running. As in <c>SidecarHost</c>, the background readiness probe is off unless
/// a test sets <c>Sidecar:ReadinessInterval</c>, so the worker sees only the tests' requests.
/// </summary>
internal sealed class SidecarProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private SidecarProcess(Process process, Uri proxy, Uri admin)
    {
        _process = process;
        ProxyAddress = proxy;
        AdminAddress = admin;
    }

    public Uri ProxyAddress { get; }
    public Uri AdminAddress { get; }
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static async Task<SidecarProcess> StartAsync(string workerAddress, params string[] settings)
    {
        var proxy = new Uri($"http://127.0.0.1:{FreePort()}");
        var admin = new Uri($"http://127.0.0.1:{FreePort()}");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Dynamo.Sidecar.dll"));
        foreach (var arg in (string[])
                 [
                     "--urls", proxy.ToString(),
                     $"--Sidecar:AdminPort={admin.Port}",
                     "--Sidecar:AdminAddress=127.0.0.1",
                     "--Sidecar:ReadinessInterval=00:00:00",
                     $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={workerAddress}",
                     .. settings.Select(s => "--" + s),
                 ])
        {
            info.ArgumentList.Add(arg);
        }

        // The console logger writes plain lines that the tests read.
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        var process = new Process { StartInfo = info };
        var sidecar = new SidecarProcess(process, proxy, admin);
        process.OutputDataReceived += (_, e) => sidecar.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => sidecar.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await sidecar.WaitUntilServingAsync();
        return sidecar;
    }

    /// <summary>Sends SIGTERM, as the kubelet does.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to exit; fails with its output if it is still running after <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the sidecar was still running {timeout.TotalSeconds} s later. Its output:\n{Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilServingAsync()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            // The proxy listener starts after the admin listener: wait until both answer.
            if (Output.Contains($"Now listening on: {ProxyAddress.ToString().TrimEnd('/')}", StringComparison.Ordinal))
            {
                var health = await client.GetAsync(new Uri(AdminAddress, "/healthz"));
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }

            await Task.Delay(100);
        }

        Assert.Fail($"the sidecar did not start. Its output:\n{Output}");
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}

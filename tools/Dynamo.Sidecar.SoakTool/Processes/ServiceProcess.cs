using System.Diagnostics;

namespace Dynamo.Sidecar.SoakTool.Processes;

/// <summary>
/// One real server process (<c>dotnet some.dll ...</c>, or a native executable) with its output in a log file. Killed with its children on
/// dispose, so a failed or interrupted run leaves nothing listening.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _logClosed;

    private ServiceProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <param name="program">A <c>.dll</c>, run by <c>dotnet</c>, or an executable (the sidecar's Native AOT binary).</param>
    /// <param name="environment">Variables set for this process only, over the ones it inherits.</param>
    public static ServiceProcess Start(
        string program, IEnumerable<string> arguments, string workingDirectory, string logFile, IReadOnlyDictionary<string, string>? environment = null)
    {
        var managed = program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(managed ? "dotnet" : program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (managed)
        {
            info.ArgumentList.Add(program);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Lines, not levels of detail: the log is for a post-mortem of a failed run.
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var log = new StreamWriter(logFile) { AutoFlush = true };
        var service = new ServiceProcess(new Process { StartInfo = info }, log);
        service._process.OutputDataReceived += (_, e) => service.Write(e.Data);
        service._process.ErrorDataReceived += (_, e) => service.Write(e.Data);
        service._process.Start();
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx; fails if the process exits or 30 s pass.</summary>
    public async Task WaitReadyAsync(HttpClient client, Uri url, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"process {Pid} exited ({_process.ExitCode}) before {url} answered");
            }

            try
            {
                using var response = await client.GetAsync(url, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"{url} did not answer within 30 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        lock (_log)
        {
            _logClosed = true;
            _log.Dispose();
        }
    }

    private void Write(string? line)
    {
        lock (_log)
        {
            if (line is not null && !_logClosed)
            {
                _log.WriteLine(line);
            }
        }
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Dynamo.Sidecar.Testing;

/// <summary>
/// A long-running child process (llama-server, prometheus, the sidecar) whose last output lines (stdout and stderr, in
/// the order they arrived) are kept for assertions and failure messages, killed with its whole tree on dispose, and
/// also if the test host exits first.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly int _keptLines;
    private readonly string _name;

    private ServerProcess(string name, Process process, int keptLines)
    {
        _name = name;
        _process = process;
        _keptLines = keptLines;
    }

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote to stdout and stderr.</summary>
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

    /// <summary>The kept output lines, oldest first.</summary>
    public IReadOnlyList<string> OutputLines
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public static ServerProcess Start(string name, string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start(name, new ProcessCommand(fileName, [.. args], environment));

    /// <param name="name">What failure messages call the process.</param>
    /// <param name="command">What to run.</param>
    /// <param name="keptLines">How many of the last output lines <see cref="Output"/> keeps.</param>
    public static ServerProcess Start(string name, ProcessCommand command, int keptLines = 300)
    {
        var process = new Process { StartInfo = command.StartInfo(redirectStandardInput: false), EnableRaisingEvents = true };
        var server = new ServerProcess(name, process, keptLines);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{name}: could not start {command.FileName}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += server.KillOnHostExit;
        return server;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 200; fails with the process output if it exits or the time runs out.</summary>
    public async Task WaitUntilReadyAsync(Uri url, TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (HasExited)
            {
                throw new InvalidOperationException(
                    $"{_name} exited with code {_process.ExitCode} before {url} answered 200. Its output:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync(url);
                if ((int)response.StatusCode == 200)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{_name}: {url} did not answer 200 within {timeout.TotalSeconds:0} s (last: {last}). Its output:\n{Output}");
    }

    /// <summary>Sends SIGTERM, as the kubelet does.</summary>
    public async Task TerminateAsync()
    {
        var kill = await ChildProcess.RunAsync("kill", ["-TERM", Id.ToString(CultureInfo.InvariantCulture)], timeout: TimeSpan.FromSeconds(10));
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"{_name}: kill -TERM {Id} failed: {kill}");
        }
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
            Xunit.Assert.Fail($"{_name} was still running {timeout.TotalSeconds:0} s later. Its output:\n{Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnHostExit;
        Kill();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped in time: nothing more a test can do.
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > _keptLines)
            {
                _output.Dequeue();
            }
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void KillOnHostExit(object? sender, EventArgs e) => Kill();
}

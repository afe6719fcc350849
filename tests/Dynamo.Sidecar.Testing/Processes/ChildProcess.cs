using System.Diagnostics;

namespace Dynamo.Sidecar.Testing;

/// <summary>Runs a command to completion (node, promtool, a sidecar that must refuse to start) and returns its exit code and output.</summary>
public static class ChildProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
    }

    public static Task<Result> RunAsync(
        string fileName, IEnumerable<string> args, string? standardInput = null, string? workingDirectory = null, TimeSpan? timeout = null) =>
        RunAsync(new ProcessCommand(fileName, [.. args], WorkingDirectory: workingDirectory), standardInput, timeout);

    /// <summary>Runs <paramref name="command"/>; kills it and throws <see cref="TimeoutException"/> with its output after <paramref name="timeout"/> (default 60 s).</summary>
    public static async Task<Result> RunAsync(ProcessCommand command, string? standardInput = null, TimeSpan? timeout = null)
    {
        using var process = Process.Start(command.StartInfo(redirectStandardInput: true))
            ?? throw new InvalidOperationException($"could not start {command.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException(
                $"{command} did not finish within {limit.TotalSeconds:0} s\n" + new Result(-1, await stdout, await stderr));
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}

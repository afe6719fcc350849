using System.Diagnostics;

namespace Dynamo.Sidecar.Testing;

/// <summary>A program, its arguments, the variables added to the inherited environment, and where it runs.</summary>
public sealed record ProcessCommand(
    string FileName,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string>? Environment = null,
    string? WorkingDirectory = null)
{
    public override string ToString() => string.Join(' ', Arguments.Prepend(FileName));

    /// <summary>Both output streams redirected; stdin redirected only when the caller writes to it.</summary>
    internal ProcessStartInfo StartInfo(bool redirectStandardInput)
    {
        var info = new ProcessStartInfo(FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStandardInput,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory ?? System.Environment.CurrentDirectory,
        };
        foreach (var argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in Environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return info;
    }
}

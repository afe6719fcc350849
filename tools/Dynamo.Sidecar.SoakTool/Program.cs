using Dynamo.Sidecar.SoakTool;

// dotnet Dynamo.Sidecar.SoakTool.dll --duration 60 [--warmup 30] [--concurrency 256] [--seed 1]; see SoakOptions.Usage.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

SoakOptions options;
try
{
    options = SoakOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

try
{
    return await new SoakRun(options, Console.Out).RunAsync(stop.Token);
}
catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or InvalidOperationException)
{
    // The run could not finish (a process died, a port or the diagnostics socket failed): that is a failed soak.
    await Console.Out.WriteLineAsync($"soak aborted: {ex.GetType().Name}: {ex.Message}");
    await Console.Out.WriteLineAsync("0 passed, 1 failed");
    return 1;
}

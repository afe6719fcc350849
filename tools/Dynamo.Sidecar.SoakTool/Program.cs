using Dynamo.Sidecar.SoakTool;

// dotnet Dynamo.Sidecar.SoakTool.dll --duration 60 [--warmup 15] [--concurrency 256] [--seed 1]; see SoakOptions.Usage.
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

return await new SoakRun(options, Console.Out).RunAsync(stop.Token);

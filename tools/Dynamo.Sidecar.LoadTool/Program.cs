using Dynamo.Sidecar.LoadTool;

// dotnet Dynamo.Sidecar.LoadTool.dll --url http://127.0.0.1:8080 --streams 64 --tokens 2000 --rate 0 --pid 1234 [--json]
// dotnet Dynamo.Sidecar.LoadTool.dll report --scenario throughput direct.json nginx.json yarp.json sidecar.json
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return args is ["report", .. var files]
    ? BenchReport.Run(files, Console.Out)
    : await LoadCommand.RunAsync(args, Console.Out, Console.Error, stop.Token);

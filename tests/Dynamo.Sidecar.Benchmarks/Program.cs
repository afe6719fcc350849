using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Dynamo.Sidecar.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Dynamo.Sidecar.Benchmarks.SseEventBenchmarks).Assembly).Run(args);

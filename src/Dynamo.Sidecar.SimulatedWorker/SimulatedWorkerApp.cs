namespace Dynamo.Sidecar.SimulatedWorker;

/// <summary>
/// A small OpenAI-compatible inference server that imitates vLLM's wire format byte for byte, for running the
/// metering proxy locally, hosting in integration tests, and load benchmarks.
/// </summary>
public static class SimulatedWorkerApp
{
    /// <summary>Builds, but does not start, the worker.</summary>
    /// <param name="args">
    /// Ordinary ASP.NET Core arguments, e.g. <c>--urls http://127.0.0.1:0 --Worker:TokensPerSecond=0</c>.
    /// Without <c>--urls</c> the worker listens on http://127.0.0.1:8000, like <c>vllm serve</c>.
    /// </param>
    public static WebApplication Create(string[] args)
    {
        // No appsettings.json of its own: projects that reference this one (the tests) would get it
        // copied over the sidecar's. Defaults live in code; arguments and environment override them.
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:8000");
        }

        builder.Services.AddSimulatedWorker();

        var app = builder.Build();
        app.MapSimulatedWorker();
        return app;
    }
}

using Dynamo.Sidecar.SimulatedWorker;
using Microsoft.AspNetCore.Builder;

namespace Dynamo.Sidecar.EndToEndTests.Support;

/// <summary>
/// The simulated worker on a loopback port, answering at full speed with no first-token delay: a class fixture for
/// the tests of the published binary, where the sidecar's process is under test and the worker only has to answer.
/// </summary>
public sealed class FullSpeedWorker : IAsyncLifetime
{
    private WebApplication _app = null!;

    public string Address => _app.Urls.First();

    public async Task InitializeAsync()
    {
        _app = SimulatedWorkerApp.Create(["--urls", "http://127.0.0.1:0", "--Worker:TokensPerSecond=0", "--Worker:TimeToFirstTokenMs=0"]);
        await _app.StartAsync();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();
}

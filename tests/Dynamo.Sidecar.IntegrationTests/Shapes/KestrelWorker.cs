using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// A worker that is a plain Kestrel app on loopback answering every request with one handler:
/// for answers that must leave the worker exactly as written (e.g. a body already gzip-encoded).
/// </summary>
internal sealed class KestrelWorker : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelWorker(WebApplication app) => _app = app;

    public string Address => _app.Urls.First();

    public static async Task<KestrelWorker> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0"] });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return new KestrelWorker(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

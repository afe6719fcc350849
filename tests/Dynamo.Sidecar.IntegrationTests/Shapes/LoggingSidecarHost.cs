using System.Collections.Concurrent;
using Dynamo.Sidecar.Admin;
using Dynamo.Sidecar.Hosting;
using Dynamo.Sidecar.IntegrationTests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.IntegrationTests.Shapes;

/// <summary>
/// The sidecar built exactly as <see cref="SidecarHost"/> builds it, but with a logging provider that
/// records every line, so tests can check what the sidecar logs (and how often).
/// </summary>
internal sealed class LoggingSidecarHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoggingSidecarHost(WebApplication app, Uri proxy, Uri admin, LogCapture logs)
    {
        _app = app;
        Logs = logs;
        Client = new HttpClient { BaseAddress = proxy, Timeout = TimeSpan.FromSeconds(60) };
        AdminClient = new HttpClient { BaseAddress = admin, Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }
    public HttpClient AdminClient { get; }
    public LogCapture Logs { get; }

    public static async Task<LoggingSidecarHost> StartAsync(string workerAddress, params string[] settings)
    {
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            "--Sidecar:AdminPort=0",
            "--Sidecar:AdminAddress=127.0.0.1",
            $"--ReverseProxy:Clusters:worker:Destinations:primary:Address={workerAddress}",
            .. settings.Select(s => "--" + s),
        ];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var logs = new LogCapture();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.AddSidecar();
        var app = builder.Build();
        app.MapSidecar();
        await app.StartAsync();
        var admin = app.Services.GetRequiredService<AdminServer>().Address!;
        return new LoggingSidecarHost(app, new Uri(app.Urls.First()), admin, logs);
    }

    public async Task<MetricsText> ScrapeAsync() => MetricsText.Parse(await AdminClient.GetStringAsync("/metrics"));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        AdminClient.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Records every log line that passes the app's configured filters.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<LogLine> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue(new LogLine(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

internal sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

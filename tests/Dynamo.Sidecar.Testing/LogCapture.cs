using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dynamo.Sidecar.Testing;

/// <summary>Records every log line that passes the app's configured filters.</summary>
public sealed class LogCapture : ILoggerProvider
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

public sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

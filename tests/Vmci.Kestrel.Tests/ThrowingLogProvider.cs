using System;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace Vmci.Kestrel.Tests;

/// <summary>A log provider that throws on the first <c>times</c> entries with one event ID, as a broken sink would.</summary>
internal sealed class ThrowingLogProvider(int eventId, int times) : ILoggerProvider
{
    private int _seen;

    public int Thrown => Math.Min(Volatile.Read(ref _seen), times);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    private bool ShouldThrow(string category, EventId id)
        => category == "Vmci.Kestrel" && id.Id == eventId && Interlocked.Increment(ref _seen) <= times;

    public void Dispose()
    {
    }

    private sealed class Logger(ThrowingLogProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (provider.ShouldThrow(category, id))
            {
                throw new InvalidOperationException("the log sink is broken");
            }
        }
    }
}

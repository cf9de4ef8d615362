using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vmci.Kestrel.Internal;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>A real Kestrel server listening on an ephemeral vsock port, and clients that reach it over CID 1.</summary>
internal sealed class VsockServer : IAsyncDisposable
{
    private VsockServer(WebApplication app, VmciEndPoint target, LogSink logs)
    {
        App = app;
        Target = target;
        Logs = logs;
    }

    public WebApplication App { get; }

    /// <summary>CID 1 and the port the server bound.</summary>
    public VmciEndPoint Target { get; }

    public LogSink Logs { get; }

    public IReadOnlyCollection<string> Addresses => App.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.ToArray();

    public static async Task<VsockServer> StartAsync(
        Action<WebApplication> map,
        Action<ListenOptions>? listen = null,
        Action<VmciTransportOptions>? transport = null,
        Action<WebApplicationBuilder>? configure = null,
        string[]? args = null,
        uint port = VmciPort.Any,
        bool captureLogs = true)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args ?? [], EnvironmentName = "Development" });
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        if (captureLogs)
        {
            // Kept in memory for assertions; long runs switch it off, or it would look like a leak.
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        }
        builder.WebHost.UseVmci(transport ?? (static _ => { }));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (args is null)
            {
                kestrel.ListenVmci(VmciCid.Any, port, listen ?? (static _ => { }));
            }
        });
        configure?.Invoke(builder);
        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);

        // The first vsock listener's address, read back as the server reports it; a server with hybrid listeners
        // only has no Target port.
        VmciEndPoint? bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Select(a => VmciServerAddress.TryParse(a, out System.Net.EndPoint? e) ? e : null)
            .OfType<VmciEndPoint>()
            .FirstOrDefault();
        return new VsockServer(app, new VmciEndPoint(VmciCid.Local, bound?.Port ?? VmciPort.Any), logs);
    }

    /// <summary>A port below 65536 (URLs cannot carry larger ones), different for each call in this process.</summary>
    public static uint UrlSafePort() => (uint)(20000 + (Interlocked.Increment(ref s_nextPort) % 40000));

    private static int s_nextPort = Environment.ProcessId % 1000 * 40;

    /// <summary>An HttpClient whose every connection goes to <see cref="Target"/> over vsock.</summary>
    public HttpClient CreateClient(Version? version = null, VmciConnectionFactoryOptions? options = null)
    {
        VsockGuard.EnsureMayConnect(Target);
        SocketsHttpHandler handler = VmciHttp.CreateHandler(Target, options);
        return new HttpClient(handler)
        {
            BaseAddress = new Uri("http://dashboard.vsock/"),
            DefaultRequestVersion = version ?? System.Net.HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromMinutes(2),
        };
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await App.StopAsync(cts.Token);
        await App.DisposeAsync();
    }
}

/// <summary>Every log entry the server wrote, for assertions on messages, levels and event IDs.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public IEnumerable<LogEntry> Category(string category) => Entries.Where(e => e.Category == category);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => sink.Entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

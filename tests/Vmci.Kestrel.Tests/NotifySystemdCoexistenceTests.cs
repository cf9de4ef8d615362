using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>These tests set NOTIFY_SOCKET in the test process, so nothing else may run (and start children) meanwhile.</summary>
[CollectionDefinition(nameof(NotifyEnvironment), DisableParallelization = true)]
public sealed class NotifyEnvironment;

/// <summary>
/// UseVmci() beside .NET's own systemd integration (SystemdLifetime with SystemdNotifier, what UseSystemd() adds when
/// systemd starts the app): whatever NOTIFY_SOCKET holds, exactly one of them sends each message, and neither fails.
/// </summary>
[Collection(nameof(NotifyEnvironment))]
public sealed class NotifySystemdCoexistenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An app with UseVmci() and the services UseSystemd() registers under systemd (it checks the parent process, which a test cannot fake).</summary>
    private static WebApplication BuildApp(LogSink logs)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        builder.WebHost.UseVmci(VmciCid.Any, VmciPort.Any);
        return builder.Build();
    }


    [VsockFact(VsockNeeds.Loopback)]
    public async Task VsockAddress_SentByUseVmciOnly_SystemdNotifierStaysQuiet_NoErrors()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        uint port = ((VmciEndPoint)receiver.EndPoint).Port;
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, port));
        var logs = new LogSink();
        Environment.SetEnvironmentVariable(VmciNotify.EnvironmentVariable, $"vsock-stream:1:{port}");
        try
        {
            await using WebApplication app = BuildApp(logs);
            Assert.Null(Environment.GetEnvironmentVariable(VmciNotify.EnvironmentVariable)); // taken, so no child reports for the app
            Assert.False(app.Services.GetRequiredService<ISystemdNotifier>().IsEnabled);
            Assert.True(app.Services.GetRequiredService<VmciNotifier>().IsEnabled);

            await app.StartAsync(Ct);
            await receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct);
            Assert.True(await app.Services.GetRequiredService<VmciNotifier>().NotifyAsync("STATUS=from the app", Ct));
            await app.StopAsync(Ct);
        }
        finally
        {
            Environment.SetEnvironmentVariable(VmciNotify.EnvironmentVariable, null);
        }

        await receiver.DisposeAsync();
        var all = new List<VmciNotification>();
        await foreach (VmciNotification n in receiver.ReadAllAsync(Ct))
        {
            all.Add(n);
        }

        Assert.Equal(["READY=1", "STATUS=from the app", "STOPPING=1"], all.Select(NotificationText.Of));
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task UnixAddress_LeftToSystemdNotifier_UseVmciSendsNothing()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"sd-{Guid.NewGuid():N}"[..12]);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "notify");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        var logs = new LogSink();
        Environment.SetEnvironmentVariable(VmciNotify.EnvironmentVariable, path);
        try
        {
            await using WebApplication app = BuildApp(logs);
            Assert.Equal(path, Environment.GetEnvironmentVariable(VmciNotify.EnvironmentVariable)); // not ours: left in place
            Assert.False(app.Services.GetRequiredService<VmciNotifier>().IsEnabled);
            Assert.False(await app.Services.GetRequiredService<VmciNotifier>().NotifyAsync("STATUS=nowhere", Ct));
            await app.StartAsync(Ct);
            await app.StopAsync(Ct);
        }
        finally
        {
            Environment.SetEnvironmentVariable(VmciNotify.EnvironmentVariable, null);
        }

        var datagrams = new List<string>();
        byte[] buffer = new byte[4096];
        while (socket.Available > 0)
        {
            datagrams.Add(Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer)));
        }

        Assert.Equal(["READY=1", "STOPPING=1"], datagrams);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning);
        Directory.Delete(directory, recursive: true);
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vmci.Kestrel.Internal;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Guest to host: a Kestrel app on the host listens where the hypervisor delivers guests' connections
/// (<c>uds_path_PORT</c>). Through the muxer over real vsock in the sandbox VM, and straight to the Unix socket anywhere.
/// </summary>
[Trait("Category", "Vsock")]
public sealed class HybridVsockServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static void MapWhoAmI(WebApplication app) => app.MapGet("/", (HttpContext c) =>
        c.GetHybridVsockConnection() is { } hybrid ? $"{c.Request.Protocol} via {hybrid.UdsPath} port {hybrid.Port}" : "not hybrid");

    [VsockFact(VsockNeeds.Loopback)]
    public async Task GuestsReachTheHostApp_ThroughTheMuxer_OverHttp11AndH2c()
    {
        await using var muxer = HybridVsockMuxer.Start();
        await using VsockServer host = await VsockServer.StartAsync(MapWhoAmI, configure: b => b.WebHost.ConfigureKestrel(k =>
        {
            k.ListenHybridVsock(muxer.UdsPath, 9000, l => l.Protocols = HttpProtocols.Http1);
            k.ListenHybridVsock(new HybridVsockEndPoint(muxer.UdsPath, 9001), l => l.Protocols = HttpProtocols.Http2);
        }));
        // The guest's view: vsock to "the host" (CID 1 here, standing for CID 2) at ports the muxer forwards.
        VmciEndPoint h1 = muxer.ForwardGuestToHost(9000);
        VmciEndPoint h2 = muxer.ForwardGuestToHost(9001);
        using var http1 = new HttpClient(VmciHttp.CreateHandler(h1));
        using var http2 = new HttpClient(VmciHttp.CreateHandler(h2)) { DefaultRequestVersion = new Version(2, 0), DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        Assert.Equal($"HTTP/1.1 via {muxer.UdsPath} port 9000", await http1.GetStringAsync("http://host/", Ct));
        Assert.Equal($"HTTP/2 via {muxer.UdsPath} port 9001", await http2.GetStringAsync("http://host/", Ct));
        Assert.Contains($"http://hvsock://{muxer.UdsPath}:9000", host.Addresses);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task BothDirections_OneMuxer_HostCallsGuestAndGuestCallsHost()
    {
        await using var muxer = HybridVsockMuxer.Start();
        await using VsockServer guest = await VsockServer.StartAsync(app => app.MapGet("/", () => "guest"));
        await using VsockServer host = await VsockServer.StartAsync(MapWhoAmI, configure: b => b.WebHost.ConfigureKestrel(k => k.ListenHybridVsock(muxer.UdsPath, 52)));
        using var toGuest = new HttpClient(VmciHttp.CreateHandler(muxer.GuestPort(guest.Target.Port)));
        using var toHost = new HttpClient(VmciHttp.CreateHandler(muxer.ForwardGuestToHost(52)));

        Assert.Equal("guest", await toGuest.GetStringAsync("http://guest/", Ct));
        Assert.Equal($"HTTP/1.1 via {muxer.UdsPath} port 52", await toHost.GetStringAsync("http://host/", Ct));
    }
}

/// <summary>The hybrid listener's socket file, addresses and configuration: a Unix client stands in for the hypervisor, no vsock needed.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HybridVsockListenerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient UnixClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    });

    private static string NewDirectory()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"hl-{Guid.NewGuid():N}"[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    [Fact]
    public async Task VmciUrls_Hvsock_ListensAtPathUnderscorePort_ReplacingAStaleSocket_AndRemovesItOnStop()
    {
        string directory = NewDirectory();
        string udsPath = Path.Combine(directory, "fc-1.vsock");
        string listenPath = udsPath + "_9000";
        HybridVsockMuxer.CreateStaleSocketFile(listenPath); // as a killed server leaves it
        Assert.True(Path.Exists(listenPath));

        VsockServer host = await VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [$"--Vmci:Urls=hvsock://{udsPath}:9000"]);
        string answer;
        string[] addresses;
        await using (host)
        {
            using HttpClient client = UnixClient(listenPath);
            answer = await client.GetStringAsync("http://host/", Ct);
            addresses = [.. host.Addresses];
            // .NET unlinks a socket's file on dispose by the name it was bound to. The listener's is another name
            // (it is renamed onto the path), so the removal asserted below is the transport's own, not .NET's.
            IReadOnlyList<string> bound = FileDescriptors.UnixSocketsBoundUnder(directory);
            Assert.NotEmpty(bound);
            Assert.DoesNotContain(bound, b => b.EndsWith(" " + listenPath, StringComparison.Ordinal));
        }

        Assert.Equal($"HTTP/1.1 via {udsPath} port 9000", answer);
        Assert.Equal([$"http://hvsock://{udsPath}:9000"], addresses.Where(a => a.Contains("hvsock", StringComparison.Ordinal)));
        Assert.False(Path.Exists(listenPath), "the socket file is removed on stop");
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 11 && e.Message.Contains(listenPath, StringComparison.Ordinal));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ALiveSocket_IsNotReplaced()
    {
        string directory = NewDirectory();
        string udsPath = Path.Combine(directory, "fc.vsock");
        using var live = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        live.Bind(new UnixDomainSocketEndPoint(udsPath + "_80"));
        live.Listen(1);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [$"--Vmci:Urls=hvsock://{udsPath}:80"]));

        var hybrid = Assert.IsType<HybridVsockException>(ex is HybridVsockException ? ex : ex.InnerException);
        Assert.Equal(SocketError.AddressAlreadyInUse, hybrid.SocketErrorCode);
        Assert.Contains($"at {udsPath}_80 failed: another process is listening there", hybrid.Message, StringComparison.Ordinal);
        Assert.True(Path.Exists(udsPath + "_80"));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task AFileThatIsNotASocket_IsNotReplaced()
    {
        string directory = NewDirectory();
        string udsPath = Path.Combine(directory, "fc.vsock");
        await File.WriteAllTextAsync(udsPath + "_80", "keep me", Ct);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [], configure: b => b.WebHost.ConfigureKestrel(k => k.ListenHybridVsock(udsPath, 80))));

        var hybrid = Assert.IsType<HybridVsockException>(ex is HybridVsockException ? ex : ex.InnerException);
        Assert.Contains("exists and is not a socket", hybrid.Message, StringComparison.Ordinal);
        Assert.Equal("keep me", await File.ReadAllTextAsync(udsPath + "_80", Ct));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ADirectoryLockedByAnotherProcess_FailsAfterTheLockTimeout_NamingTheDirectoryAndHowToFindTheHolder()
    {
        string directory = NewDirectory();
        var endPoint = new HybridVsockEndPoint(Path.Combine(directory, "fc.vsock"), 80);

        // util-linux's flock(1) takes the same kind of lock the listener takes while it replaces its socket file.
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("flock", ["--exclusive", directory, "sh", "-c", "echo locked; exec sleep 60"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync(Ct));
            var started = System.Diagnostics.Stopwatch.StartNew();
            var refused = await Assert.ThrowsAsync<HybridVsockException>(() => Task.Run(() => HybridVsockSocket.Listen(endPoint), Ct));
            TimeSpan waited = started.Elapsed;

            Assert.Equal(SocketError.TimedOut, refused.SocketErrorCode);
            Assert.Contains($"another process held the lock on {directory}", refused.Message, StringComparison.Ordinal);
            Assert.Contains($"fuser {directory}", refused.Message, StringComparison.Ordinal);
            Assert.True(waited >= TimeSpan.FromSeconds(4), $"gave up after {waited} instead of waiting for the lock");
            Assert.False(File.Exists(endPoint.ListenPath));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync(Ct);
        }

        // Once the holder is gone, the same listen succeeds.
        using (Socket listening = HybridVsockSocket.Listen(endPoint))
        {
            Assert.True(File.Exists(endPoint.ListenPath));
        }

        Directory.Delete(directory, recursive: true);
    }

    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0660 = Mode0600 | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
    private const UnixFileMode Mode0666 = Mode0660 | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>A directory anyone may search (whatever the umask), so that only the socket file's own mode decides who gets in.</summary>
    private static string NewSearchableDirectory()
    {
        string directory = NewDirectory();
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return directory;
    }

    private static SocketError? TryConnect(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return null;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }

    [Fact]
    public async Task SocketFile_Is0600_WhateverTheUmask_OrTheConfiguredMode()
    {
        string directory = NewDirectory();
        string udsPath = Path.Combine(directory, "fc.vsock");

        await using (VsockServer byDefault = await VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [], configure: b => b.WebHost.ConfigureKestrel(k => k.ListenHybridVsock(udsPath, 80))))
        {
            Assert.Equal(Mode0600, File.GetUnixFileMode(udsPath + "_80"));
        }

        await using (VsockServer configured = await VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [$"--Vmci:Urls=hvsock://{udsPath}:81", "--Vmci:Transport:HybridSocketFileMode=0660"]))
        {
            Assert.Equal(Mode0660, File.GetUnixFileMode(udsPath + "_81"));
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task AnotherUser_CannotConnect_TheOwnerCan_AndAConfiguredModeLetsOthersIn()
    {
        string directory = NewSearchableDirectory();
        string udsPath = Path.Combine(directory, "fc.vsock");
        await using VsockServer ownerOnly = await VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [$"--Vmci:Urls=hvsock://{udsPath}:80"]);
        await using VsockServer everyone = await VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: [$"--Vmci:Urls=hvsock://{udsPath}:81", "--Vmci:Transport:HybridSocketFileMode=0666"]);

        // Root passes every permission check unless the connecting thread gives up CAP_DAC_OVERRIDE.
        Assert.Null(Environment.IsPrivilegedProcess ? ThreadCapabilities.RunWithout(ThreadCapabilities.DacOverride, () => TryConnect(udsPath + "_80")) : TryConnect(udsPath + "_80"));
        Assert.Equal(Mode0666, File.GetUnixFileMode(udsPath + "_81"));
        if (ThreadFileSystemUser.CanSwitch)
        {
            // Another user: refused by the default mode, let in by the configured one (so it is the mode that decides, not the directory).
            Assert.Equal(SocketError.AccessDenied, ThreadFileSystemUser.RunAs(ThreadFileSystemUser.Nobody, ThreadFileSystemUser.Nobody, () => TryConnect(udsPath + "_80")));
            Assert.Null(ThreadFileSystemUser.RunAs(ThreadFileSystemUser.Nobody, ThreadFileSystemUser.Nobody, () => TryConnect(udsPath + "_81")));
        }

        // (As an ordinary user no other user can be played; the mode bits above are what keeps one out.)
        await ownerOnly.DisposeAsync();
        await everyone.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task TwoServers_StartingOverOneStaleFile_OneListens_TheOtherSaysInUse()
    {
        string directory = NewDirectory();
        var endPoint = new HybridVsockEndPoint(Path.Combine(directory, "fc.vsock"), 80);
        for (int round = 0; round < 25; round++)
        {
            HybridVsockMuxer.CreateStaleSocketFile(endPoint.ListenPath);
            using var start = new Barrier(2);
            Task<object> Start() => Task.Factory.StartNew<object>(() =>
            {
                start.SignalAndWait(Ct);
                try
                {
                    return HybridVsockSocket.Listen(endPoint);
                }
                catch (Exception ex)
                {
                    return ex;
                }
            }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            object[] results = await Task.WhenAll(Start(), Start());
            Socket[] listening = [.. results.OfType<Socket>()];
            try
            {
                Assert.True(listening.Length == 1, $"round {round}: {listening.Length} servers think they listen at {endPoint.ListenPath}; {string.Join("; ", results.OfType<Exception>().Select(e => e.Message))}");
                var refused = Assert.IsType<HybridVsockException>(Assert.Single(results.OfType<Exception>()));
                Assert.Equal(SocketError.AddressAlreadyInUse, refused.SocketErrorCode);

                // And the file at the path is the winner's: a client there reaches it.
                using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await client.ConnectAsync(new UnixDomainSocketEndPoint(endPoint.ListenPath), Ct);
                using var accepted = await listening[0].AcceptAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
            }
            finally
            {
                foreach (Socket socket in listening)
                {
                    socket.Dispose();
                }

                File.Delete(endPoint.ListenPath);
                File.Delete(endPoint.ListenPath + ".bound");
            }
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Stop_LeavesASuccessorsSocketFile_InPlace()
    {
        string directory = NewDirectory();
        var endPoint = new HybridVsockEndPoint(Path.Combine(directory, "fc.vsock"), 80);
        var factory = new VmciConnectionListenerFactory(Options.Create(new VmciTransportOptions()), NullLoggerFactory.Instance);
        IConnectionListener first = await factory.BindAsync(endPoint, Ct);

        // The first server's file is removed (by an admin, a cleanup script) and another server starts there.
        File.Delete(endPoint.ListenPath);
        using var successor = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        successor.Bind(new UnixDomainSocketEndPoint(endPoint.ListenPath));
        successor.Listen(1);
        await first.UnbindAsync(Ct);
        await first.DisposeAsync();

        Assert.True(Path.Exists(endPoint.ListenPath), "the successor's socket file is still there");
        Assert.Null(TryConnect(endPoint.ListenPath));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Bind_WhenTheListenerCannotBeMade_ClosesItsSocket_AndRemovesItsFile()
    {
        string directory = NewDirectory();
        var endPoint = new HybridVsockEndPoint(Path.Combine(directory, "fc.vsock"), 80);
        using var loggers = new ThrowingLoggerFactory(eventId: 11); // HybridListening, logged between bind and construction
        var factory = new VmciConnectionListenerFactory(Options.Create(new VmciTransportOptions()), loggers);

        await Assert.ThrowsAsync<InvalidOperationException>(() => factory.BindAsync(endPoint, Ct).AsTask());

        Assert.Empty(FileDescriptors.UnixSocketsBoundUnder(directory));
        Assert.False(Path.Exists(endPoint.ListenPath), "the socket file is removed");
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>Loggers that throw on one event, as a broken log provider does.</summary>
    private sealed class ThrowingLoggerFactory(int eventId) : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                throw new InvalidOperationException($"the log provider failed on event {id.Id}");
            }
        }

        public void Dispose()
        {
        }
    }

    /// <summary>A raw connection to a hybrid listener, as the hypervisor makes one, with one request sent.</summary>
    private static async Task<Socket> RequestAsync(string listenPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(listenPath), Ct);
        try
        {
            await socket.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), SocketFlags.None, Ct);
        }
        catch (SocketException)
        {
            // Already closed by the server: the reply tells.
        }

        return socket;
    }

    /// <summary>The first reply bytes, or "" when the server closed the connection unread.</summary>
    private static async Task<string> FirstReplyAsync(Socket socket)
    {
        byte[] buffer = new byte[1024];
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(60), Ct);
            return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            return "";
        }
    }

    [Fact]
    public async Task MaxConnectionsPerPeerCid_CountsPerVmSocket_OverAllItsPorts()
    {
        // Every connection on PATH_PORT comes from the one VM that owns PATH: the limit applies to that VM.
        string directory = NewDirectory();
        string vm1 = Path.Combine(directory, "vm1.vsock");
        string vm2 = Path.Combine(directory, "vm2.vsock");
        await using VsockServer host = await VsockServer.StartAsync(
            HybridVsockServerTests.MapWhoAmI,
            transport: t => t.MaxConnectionsPerPeerCid = 1,
            args: [$"--Vmci:Urls=hvsock://{vm1}:80;hvsock://{vm1}:81;hvsock://{vm2}:80"]);

        using Socket first = await RequestAsync(vm1 + "_80");
        Assert.StartsWith("HTTP/1.1 200 OK", await FirstReplyAsync(first), StringComparison.Ordinal);
        using (Socket secondPort = await RequestAsync(vm1 + "_81"))
        {
            Assert.Equal("", await FirstReplyAsync(secondPort));
        }

        using Socket otherVm = await RequestAsync(vm2 + "_80");
        Assert.StartsWith("HTTP/1.1 200 OK", await FirstReplyAsync(otherVm), StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 22 && e.Message.Contains(vm1, StringComparison.Ordinal) && e.Message.Contains("MaxConnectionsPerPeerCid", StringComparison.Ordinal));

        // Once the VM's connection ends, a new one fits again.
        first.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using Socket again = await RequestAsync(vm1 + "_81");
            if (await FirstReplyAsync(again) is { Length: > 0 } reply)
            {
                Assert.StartsWith("HTTP/1.1 200 OK", reply, StringComparison.Ordinal);
                break;
            }

            await Task.Delay(50, timeout.Token);
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task ALogProviderThatThrowsAfterAdmission_DoesNotLeakTheVmsSlot()
    {
        // The first "Accepted" entry (event 12) throws: that connection is lost, the VM's one slot must not be.
        string directory = NewDirectory();
        string vm = Path.Combine(directory, "vm.vsock");
        var thrower = new ThrowingLogProvider(eventId: 12, times: 1);
        await using VsockServer host = await VsockServer.StartAsync(
            HybridVsockServerTests.MapWhoAmI,
            transport: t => t.MaxConnectionsPerPeerCid = 1,
            configure: b => b.Logging.AddProvider(thrower),
            args: [$"--Vmci:Urls=hvsock://{vm}:80"]);

        using (Socket lost = await RequestAsync(vm + "_80"))
        {
            Assert.Equal("", await FirstReplyAsync(lost));
        }

        Assert.Equal(1, thrower.Thrown);
        using Socket next = await RequestAsync(vm + "_80");
        Assert.StartsWith("HTTP/1.1 200 OK", await FirstReplyAsync(next), StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task TheBufferBudget_AppliesPerVmSocket()
    {
        string directory = NewDirectory();
        string vm = Path.Combine(directory, "vm.vsock");
        await using VsockServer host = await VsockServer.StartAsync(
            HybridVsockServerTests.MapWhoAmI,
            transport: t => t.MaxBufferedBytesPerPeerCid = 1, // never fewer than one connection
            args: [$"--Vmci:Urls=hvsock://{vm}:80"]);

        using Socket first = await RequestAsync(vm + "_80");
        Assert.StartsWith("HTTP/1.1 200 OK", await FirstReplyAsync(first), StringComparison.Ordinal);
        using (Socket second = await RequestAsync(vm + "_80"))
        {
            Assert.Equal("", await FirstReplyAsync(second));
        }

        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == 23 && e.Message.Contains("MaxBufferedBytesPerPeerCid", StringComparison.Ordinal));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task VmciUrls_BadHvsock_StopsStartupWithTheSettingsName()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => VsockServer.StartAsync(HybridVsockServerTests.MapWhoAmI, args: ["--Vmci:Urls=hvsock://relative/fc.vsock:80"]));

        Assert.Contains("The setting Vmci:Urls is not valid", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the path is not absolute", ex.Message, StringComparison.Ordinal);
    }
}

using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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

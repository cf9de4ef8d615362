using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Inherited listening vsock sockets (systemd socket activation): in-process through Kestrel's ListenHandle,
/// and the sample under Debian's real systemd-socket-activate.
/// </summary>
[Trait("Category", "Vsock")]
public sealed class SocketActivationTests
{
    private const int O_NONBLOCK = 0x800;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task InheritedDescriptor_ListenHandle_ServedByTheVsockTransport_Once_NonBlocking()
    {
        // A listening vsock socket as another process would pass it: bound and listening, never used by .NET's async engine.
        using Socket inherited = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        int fd = checked((int)inherited.SafeHandle.DangerousGetHandle());
        uint port = VmciSocket.GetLocalEndPoint(inherited).Port;
        Assert.Equal(0, DescriptorFlags(fd) & O_NONBLOCK);

        VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => c.GetVmciConnection()!.LocalEndPoint.ToString()),
            args: [],
            configure: b => b.WebHost.ConfigureKestrel(k =>
            {
                // Listed twice, as UseSystemd() and UseVmci() both do for an activated vsock socket.
                k.ListenHandle((ulong)fd);
                k.ListenHandle((ulong)fd);
            }));

        try
        {
            await ServeAndCheckAsync(server, fd, port);
        }
        finally
        {
            await server.DisposeAsync();
        }

        // Stopping the server closed its own descriptor only: the inherited socket still listens, as systemd's
        // copy must, to start the service again on the next connection.
        Assert.True(VmciSocket.IsListener(fd));
        var target = new VmciEndPoint(VmciCid.Local, port);
        VsockGuard.EnsureMayConnect(target);
        using Socket again = await VmciSocket.ConnectAsync(target, TestContext.Current.CancellationToken);
        using Socket accepted = await inherited.AcceptAsync(TestContext.Current.CancellationToken);
        Assert.Equal(VmciCid.Local, ((VmciEndPoint)accepted.RemoteEndPoint!).Cid);
    }

    private static async Task ServeAndCheckAsync(VsockServer server, int fd, uint port)
    {
        Assert.Equal(port, server.Target.Port);
        Assert.All(server.Addresses, a => Assert.Equal($"http://vsock://any:{port}", a));
        using HttpClient client = server.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"vsock://1:{port}", await client.GetStringAsync("/", TestContext.Current.CancellationToken));
        }

        // Accepted through .NET's epoll engine, which made the listening socket non-blocking.
        Assert.NotEqual(0, DescriptorFlags(fd) & O_NONBLOCK);
        LogEntry listening = Assert.Single(server.Logs.Entries, e => e.EventId.Id == 20);
        Assert.Contains($"vsock://any:{port}", listening.Message, StringComparison.Ordinal);
        Assert.Contains($"descriptor {fd}", listening.Message, StringComparison.Ordinal);
        Assert.Single(server.Logs.Entries, e => e.EventId.Id == 21);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task InheritedDescriptor_TransportOptionsApply_AllowedPeerCids()
    {
        using Socket inherited = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        int fd = checked((int)inherited.SafeHandle.DangerousGetHandle());
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => "secret"),
            transport: o => o.AllowedPeerCids.Add(VmciCid.Host),
            args: [],
            configure: b => b.WebHost.ConfigureKestrel(k => k.ListenHandle((ulong)fd)));

        using HttpClient client = server.CreateClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("/", TestContext.Current.CancellationToken));
        Assert.Contains(server.Logs.Entries, e => e.EventId.Id == 2 && e.Message.Contains("CID 1 is not in AllowedPeerCids", StringComparison.Ordinal));
    }

    [Fact]
    public void NotAListeningVsockSocket_NotClaimed()
    {
        Assert.False(VmciSocket.IsListener(-1));
        Assert.False(VmciSocket.IsListener(0)); // standard input
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcp.Listen();
        Assert.False(VmciSocket.IsListener(checked((int)tcp.SafeHandle.DangerousGetHandle())));
        var ex = Assert.Throws<ArgumentException>(() => VmciSocket.AdoptListener(checked((int)tcp.SafeHandle.DangerousGetHandle())));
        Assert.Contains("not a listening AF_VSOCK stream socket", ex.Message, StringComparison.Ordinal);
        Assert.False(VmciSocket.TryAdoptListener(checked((int)tcp.SafeHandle.DangerousGetHandle()), out Socket? adopted));
        Assert.Null(adopted);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void UnlistenedVsockSocket_NotClaimed()
    {
        using Socket bound = VmciSocket.Create();
        VmciSocket.Bind(bound, new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        int fd = checked((int)bound.SafeHandle.DangerousGetHandle());
        Assert.False(VmciSocket.IsListener(fd));
        Assert.False(VmciSocket.TryAdoptListener(fd, out Socket? notAdopted));
        Assert.Null(notAdopted);
        bound.Listen();
        Assert.True(VmciSocket.IsListener(fd));

        // One look answers and takes over: the adopted socket is a second descriptor for the same listener.
        Assert.True(VmciSocket.TryAdoptListener(fd, out Socket? adopted));
        using (adopted)
        {
            Assert.NotEqual(fd, checked((int)adopted.SafeHandle.DangerousGetHandle()));
            Assert.Equal(VmciSocket.GetLocalEndPoint(bound), VmciSocket.GetLocalEndPoint(adopted));
        }

        Assert.True(VmciSocket.IsListener(fd)); // the original stays open and listening
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Sample_UnderSystemdSocketActivate_ServesExactlyTheInheritedVsockSocket()
    {
        string activate = ExternalProcess.Require("systemd-socket-activate", "systemd");
        uint port = VsockServer.UrlSafePort();
        using ActivatedSample sample = await ActivatedSample.StartAsync(activate, [$"vsock::{port}"], "dashboard");

        // The first connection is what makes systemd-socket-activate start the app; it waits in the backlog meanwhile.
        using HttpClient client = VsockClient(port);
        JsonElement you = await StatusAsync(client, "/api/status");
        Assert.Equal("vsock", you.GetProperty("transport").GetString());
        Assert.Equal($"vsock://1:{port}", you.GetProperty("localEndPoint").GetString());
        Assert.Equal("ok", await client.GetStringAsync("/healthz", TestContext.Current.CancellationToken));

        string log = await sample.StopAsync();
        Assert.Contains($"Listening on vsock://any:{port} (vsock, inherited descriptor 3 named 'dashboard')", log, StringComparison.Ordinal);
        Assert.Contains($"Now listening on: http://vsock://any:{port}", log, StringComparison.Ordinal);
        Assert.DoesNotContain(":8080", log, StringComparison.Ordinal); // not the default ports
        Assert.DoesNotContain(":8081", log, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Sample_UnderSystemdSocketActivate_VsockAndTcp_TcpServedByKestrelsOwnTransport()
    {
        string activate = ExternalProcess.Require("systemd-socket-activate", "systemd");
        uint port = VsockServer.UrlSafePort();
        int tcpPort = ExternalProcess.FreeTcpPort();
        using ActivatedSample sample = await ActivatedSample.StartAsync(activate, [$"vsock::{port}", $"127.0.0.1:{tcpPort}"], "dashboard:dashboard-tcp");

        using HttpClient vsock = VsockClient(port);
        Assert.Equal("vsock", (await StatusAsync(vsock, "/api/status")).GetProperty("transport").GetString());
        using var tcp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{tcpPort}/"), Timeout = TimeSpan.FromMinutes(2) };
        JsonElement overTcp = await StatusAsync(tcp, "/api/status");
        Assert.Equal("tcp", overTcp.GetProperty("transport").GetString());
        Assert.Equal("127.0.0.1", overTcp.GetProperty("remoteAddress").GetString());

        string log = await sample.StopAsync();
        Assert.Contains($"inherited descriptor 3 named 'dashboard'", log, StringComparison.Ordinal);
        Assert.DoesNotContain("descriptor 4", log, StringComparison.Ordinal); // the TCP one is not the vsock transport's
        Assert.Contains($"Now listening on: http://127.0.0.1:{tcpPort}", log, StringComparison.Ordinal);
        Assert.Contains($"Now listening on: http://vsock://any:{port}", log, StringComparison.Ordinal);
    }

    private static HttpClient VsockClient(uint port)
    {
        var target = new VmciEndPoint(VmciCid.Local, port);
        VsockGuard.EnsureMayConnect(target);
        return new HttpClient(VmciHttp.CreateHandler(target)) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromMinutes(2) };
    }

    private static async Task<JsonElement> StatusAsync(HttpClient client, string path)
    {
        string json = await client.GetStringAsync(path, TestContext.Current.CancellationToken);
        return JsonDocument.Parse(json).RootElement.GetProperty("you").Clone();
    }

    /// <summary>The descriptor's file status flags, from /proc (the flags line is octal).</summary>
    private static int DescriptorFlags(int fd)
    {
        string line = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
    }
}

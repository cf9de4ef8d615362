using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// What `vmci gateway` and `vmci forward` let in, here on the host over TCP: which client addresses are served,
/// service-worker scripts on guest origins, and guest origins that do not depend on the command line's order.
/// The guests are <see cref="FakeHybridGuest"/> Unix sockets (or never reached), so nothing connects over vsock.
/// </summary>
public sealed partial class ToolGuardTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gateway_ServesOnlyTheAllowedClientAddresses()
    {
        // 127.0.0.2 is loopback too, so --allow (the list alone decides) is what keeps 127.0.0.1 out here.
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"0.0.0.0:{port}", "--guests", "3", "--allow", "127.0.0.2"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 3");

        string allowed = await GetIndexAsync(IPAddress.Parse("127.0.0.2"), IPAddress.Loopback, port);
        string refused = await GetIndexAsync(IPAddress.Loopback, IPAddress.Loopback, port);
        await gateway.WaitForLineAsync("vmci gateway: refused 127.0.0.1:");

        Assert.StartsWith("HTTP/1.1 200 OK", allowed, StringComparison.Ordinal);
        Assert.Equal("", refused);
    }

    [Fact]
    public async Task GatewayAndForward_OnAWildcardAddress_ServeNoRemoteClientUnlessAllowed()
    {
        IPAddress? remote = NonLoopbackAddress();
        Assert.SkipWhen(remote is null, "this machine has no non-loopback IPv4 address to play a remote client from");
        await using FakeHybridGuest guest = FakeHybridGuest.Start("from the guest");
        int gatewayPort = ExternalProcess.FreeTcpPort(), forwardPort = ExternalProcess.FreeTcpPort();
        int allowingGatewayPort = ExternalProcess.FreeTcpPort(), allowingForwardPort = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"0.0.0.0:{gatewayPort}", "--guests", "3"]);
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"0.0.0.0:{forwardPort}", "--to", $"hvsock://{guest.UdsPath}:80"]);
        using ToolProcess allowingGateway = ToolProcess.Start(["gateway", "--listen", $"0.0.0.0:{allowingGatewayPort}", "--guests", "3", "--allow", remote!.ToString()]);
        using ToolProcess allowingForward = ToolProcess.Start(["forward", "--listen", $"0.0.0.0:{allowingForwardPort}", "--to", $"hvsock://{guest.UdsPath}:80", "--allow", remote.ToString()]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 3");
        await forward.WaitForLineAsync("vmci forward: listening on");
        await allowingGateway.WaitForLineAsync("vmci gateway: serving guests 3");
        await allowingForward.WaitForLineAsync("vmci forward: listening on");

        string gatewayLocal = await GetIndexAsync(IPAddress.Loopback, IPAddress.Loopback, gatewayPort);
        string gatewayRemote = await GetIndexAsync(remote, remote, gatewayPort);
        await gateway.WaitForLineAsync($"vmci gateway: refused {remote}:");
        string forwardLocal = await GetIndexAsync(IPAddress.Loopback, IPAddress.Loopback, forwardPort);
        string forwardRemote = await GetIndexAsync(remote, remote, forwardPort);
        await forward.WaitForLineAsync($"vmci forward: refused {remote}:");
        string gatewayAllowed = await GetIndexAsync(remote, remote, allowingGatewayPort);
        string forwardAllowed = await GetIndexAsync(remote, remote, allowingForwardPort);

        Assert.StartsWith("HTTP/1.1 200 OK", gatewayLocal, StringComparison.Ordinal);
        Assert.Equal("", gatewayRemote);
        Assert.EndsWith("from the guest", forwardLocal, StringComparison.Ordinal);
        Assert.Equal("", forwardRemote);
        Assert.StartsWith("HTTP/1.1 200 OK", gatewayAllowed, StringComparison.Ordinal);
        Assert.EndsWith("from the guest", forwardAllowed, StringComparison.Ordinal);
        Assert.Equal(2, guest.Connections); // the refused client never reached the guest
    }

    [Fact]
    public async Task Gateway_RefusesServiceWorkerScriptsOnGuestOrigins_WithoutAskingTheGuest()
    {
        await using FakeHybridGuest guest = FakeHybridGuest.Start("self.onfetch = e => e.respondWith(new Response('owned'));");
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guest", $"a=hvsock://{guest.UdsPath}:80"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests a (");

        string script = await GetAsync(IPAddress.Loopback, port, "/sw.js", $"a.localhost:{port}", "Service-Worker: script\r\n");
        string page = await GetAsync(IPAddress.Loopback, port, "/sw.js", $"a.localhost:{port}");

        Assert.StartsWith("HTTP/1.1 403 Forbidden", script, StringComparison.Ordinal);
        Assert.Contains("service workers", script, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK", page, StringComparison.Ordinal);
        Assert.Equal(1, guest.Connections); // only the plain request reached the guest
    }

    [Fact]
    public async Task Gateway_NamesHybridGuestsByTheirWholeSocketPath_WhateverTheOrder()
    {
        // Two VMs whose socket files have one name in two directories: each keeps its origin across restarts
        // with the command line in another order (cookies, storage and service workers belong to an origin).
        await using FakeHybridGuest first = FakeHybridGuest.Start(directory: TempDirectory("vm-one"));
        await using FakeHybridGuest second = FakeHybridGuest.Start(directory: TempDirectory("vm-two"));
        string a = $"hvsock://{first.UdsPath}:80", b = $"hvsock://{second.UdsPath}:80";

        Dictionary<string, string> forward = await OriginsAsync(["--guests", $"{a},{b}"]);
        Dictionary<string, string> reversed = await OriginsAsync(["--guests", b, "--guests", a]);

        Assert.Equal(2, forward.Values.Distinct().Count());
        Assert.Equal(forward[first.UdsPath], reversed[first.UdsPath]);
        Assert.Equal(forward[second.UdsPath], reversed[second.UdsPath]);
        Assert.Contains("vm-one", forward[first.UdsPath], StringComparison.Ordinal);
        Assert.Contains("vm-two", forward[second.UdsPath], StringComparison.Ordinal);
    }

    /// <summary>The origin label of each hybrid guest (by socket path), as the gateway's index page links them.</summary>
    private static async Task<Dictionary<string, string>> OriginsAsync(string[] guests)
    {
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", .. guests]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests");
        string index = await GetIndexAsync(IPAddress.Loopback, IPAddress.Loopback, port);
        return IndexLink().Matches(index).ToDictionary(m => m.Groups["path"].Value, m => m.Groups["label"].Value);
    }

    [GeneratedRegex("""<a href="http://(?<label>[a-z0-9-]+)\.localhost:\d+/">[a-z0-9-]+ \(hvsock://(?<path>[^:]+):80\)</a>""")]
    private static partial Regex IndexLink();

    private static string TempDirectory(string name)
        => System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vmci-{Guid.NewGuid():N}"[..16] + "-" + name);

    private static Task<string> GetIndexAsync(IPAddress from, IPAddress to, int port)
        => GetAsync(from, port, "/", $"localhost:{port}", to: to);

    /// <summary>A GET over a TCP connection from <paramref name="from"/>; the whole answer, or "" when the connection was closed or reset unanswered.</summary>
    private static async Task<string> GetAsync(IPAddress from, int port, string path, string host, string headers = "", IPAddress? to = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        await socket.ConnectAsync(new IPEndPoint(to ?? from, port), Ct);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"), SocketFlags.None, Ct);
        }
        catch (SocketException)
        {
            // Closed before the request was written: what was answered (nothing) is read below.
        }

        return await RawClient.ReceiveToEndOrResetAsync(socket, Ct);
    }

    /// <summary>An IPv4 address of this machine that is not loopback, to connect from and to as a remote client would.</summary>
    private static IPAddress? NonLoopbackAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(u => u.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}

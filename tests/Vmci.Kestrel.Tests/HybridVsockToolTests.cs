using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>The vmci command with hvsock:// endpoints (through the test muxer to real vsock) and the to-host flag.</summary>
[Trait("Category", "Vsock")]
public sealed class HybridVsockToolTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<VsockServer> StartGuestAsync() => VsockServer.StartAsync(
        app => app.MapGet("/{**path}", (HttpContext c) => $"{c.Request.Path} from cid {c.GetVmciConnection()!.PeerCid}"),
        port: VsockServer.UrlSafePort());

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_Hvsock_ReachesTheGuest_AndExits7WhenItCannot()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();

        var ok = await RunAsync(["get", "-v", $"hvsock://{muxer.UdsPath}:{guest.Target.Port}/api/status"]);
        var noListener = await RunAsync(["get", "--connect-timeout", "1", $"hvsock://{muxer.UdsPath}:{closed.Port}/"]);
        var noSocket = await RunAsync(["get", $"hvsock://{muxer.UdsPath}.missing:80/"]);

        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal("/api/status from cid 1", ok.Stdout);
        Assert.Contains($"* connecting to hvsock://{muxer.UdsPath}:{guest.Target.Port} over hybrid vsock", ok.Stderr, StringComparison.Ordinal);
        Assert.Equal(7, noListener.ExitCode);
        Assert.Contains($"nothing listens on vsock port {closed.Port} in the guest", noListener.Stderr, StringComparison.Ordinal);
        Assert.Equal(7, noSocket.ExitCode);
        Assert.Contains($"the socket file {muxer.UdsPath}.missing does not exist", noSocket.Stderr, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_ToHost_CarriesTheFlag()
    {
        // vsock_loopback serves CID 1 whatever the flag: the flag must reach the connect, not change the route here.
        await using VsockServer guest = await StartGuestAsync();

        var flagged = await RunAsync(["get", "-v", "--to-host", $"vsock://1:{guest.Target.Port}/x"]);

        Assert.True(flagged.ExitCode == 0, flagged.Stderr);
        Assert.Equal("/x from cid 1", flagged.Stdout);
        Assert.Contains($"* connecting to vsock://1:{guest.Target.Port}?to-host over vsock", flagged.Stderr, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_ToHvsock_CarriesTcpClientsToTheGuest()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"hvsock://{muxer.UdsPath}:{guest.Target.Port}"]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = HangGuard };

        Assert.Equal("/page from cid 1", await client.GetStringAsync("/page", Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Gateway_ServesHvsockGuests_BesideCids()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", $"1,hvsock://{muxer.UdsPath}:{guest.Target.Port}", "--guest-port", guest.Target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        // Named after the whole socket path: /tmp/hv-1234abcd/fc.vsock is tmp-hv-1234abcd-fc-vsock.
        string label = string.Join('-', muxer.UdsPath.ToLowerInvariant().Split(['/', '.'], StringSplitOptions.RemoveEmptyEntries));
        await gateway.WaitForLineAsync($"vmci gateway: serving guests 1, {label}");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = HangGuard };

        // Each guest on its own origin: the hybrid guest is named after its socket path.
        string viaHybrid = await (await GatewayRoutingTests.GetAsync(client, "/echo", $"{label}.localhost:{port}")).Content.ReadAsStringAsync(Ct);
        string viaCid = await (await GatewayRoutingTests.GetAsync(client, "/echo", $"cid-1.localhost:{port}")).Content.ReadAsStringAsync(Ct);
        using HttpResponseMessage redirect = await GatewayRoutingTests.GetAsync(client, $"/vm/{label}/echo", $"localhost:{port}");
        string index = await (await GatewayRoutingTests.GetAsync(client, "/", $"localhost:{port}")).Content.ReadAsStringAsync(Ct);
        string guests = await (await GatewayRoutingTests.GetAsync(client, "/api/guests", $"localhost:{port}")).Content.ReadAsStringAsync(Ct);

        Assert.Equal("/echo from cid 1", viaHybrid);
        Assert.Equal("/echo from cid 1", viaCid);
        Assert.Equal($"http://{label}.localhost:{port}/echo", redirect.Headers.Location?.OriginalString);
        Assert.Contains($"href=\"http://{label}.localhost:{port}/\"", index, StringComparison.Ordinal);
        Assert.Contains($"\"guest\":\"{label}\",\"cid\":null,\"reachable\":true", guests, StringComparison.Ordinal);
        Assert.Contains("\"guest\":\"cid-1\",\"cid\":1,\"reachable\":true", guests, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadHvsockArguments_AreUsageErrors()
    {
        var relative = await RunAsync(["get", "hvsock://run/fc.vsock:80/"]);
        var badForward = await RunAsync(["forward", "--to", "hvsock:///run/fc.vsock:any"]);
        var badGuest = await RunAsync(["gateway", "--guests", "hvsock:///run/fc.vsock"]);
        var toHostOnHybrid = await RunAsync(["get", "--to-host", "hvsock:///run/fc.vsock:80/"]);

        Assert.Equal(2, relative.ExitCode);
        Assert.Contains("the path is not absolute", relative.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badForward.ExitCode);
        Assert.Equal(2, badGuest.ExitCode);
        Assert.Contains("is not a hybrid vsock guest", badGuest.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, toHostOnHybrid.ExitCode);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args)
        => ExternalProcess.RunAsync("dotnet", [ToolProcess.ToolPath, .. args], null, HangGuard);
}

using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using WebAppOverVmci.Grpc;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>The sample dashboard through WebApplicationFactory, on real Kestrel over vsock, called over vsock.</summary>
[Trait("Category", "Vsock")]
public sealed class SampleIntegrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_ServesPageStatusAndHealth_OverVsock()
    {
        await using WebApplicationFactory<Program> factory = SampleDashboard.Start(out uint port);
        var http1 = new VmciEndPoint(VmciCid.Local, port);
        var http2 = new VmciEndPoint(VmciCid.Local, port + 1);
        VsockGuard.EnsureMayConnect(http1);
        using var client = new HttpClient(VmciHttp.CreateHandler(http1)) { BaseAddress = new Uri("http://cid-local/") };
        using var h2Client = new HttpClient(VmciHttp.CreateHandler(http2)) { BaseAddress = new Uri("http://cid-local/"), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        string health = await client.GetStringAsync("/healthz", Ct);
        string page = await client.GetStringAsync("/", Ct);
        using JsonDocument status = JsonDocument.Parse(await client.GetStringAsync("/api/status", Ct));
        using HttpResponseMessage overH2 = await h2Client.GetAsync("/api/status", Ct);
        using JsonDocument statusH2 = JsonDocument.Parse(await overH2.Content.ReadAsStringAsync(Ct));

        Assert.Equal("ok", health);
        Assert.Contains("served over vsock", page, StringComparison.Ordinal);
        JsonElement you = status.RootElement.GetProperty("you");
        Assert.Equal("vsock", you.GetProperty("transport").GetString());
        Assert.Equal(1u, you.GetProperty("peerCid").GetUInt32());
        Assert.Equal($"vsock://1:{port}", you.GetProperty("localEndPoint").GetString());
        JsonElement vm = status.RootElement.GetProperty("status");
        Assert.Equal("1", vm.GetProperty("localCid").GetString());
        Assert.Equal(3, vm.GetProperty("requestsServed").GetInt64());
        JsonElement[] callers = [.. vm.GetProperty("recentCallers").EnumerateArray()];
        Assert.Equal(["/api/status", "/", "/healthz"], callers.Select(c => c.GetProperty("path").GetString()));
        Assert.All(callers, c => Assert.Equal(1u, c.GetProperty("peerCid").GetUInt32()));
        Assert.Equal(HttpVersion.Version20, overH2.Version);
        Assert.Equal("HTTP/2", statusH2.RootElement.GetProperty("you").GetProperty("protocol").GetString());
    }

    /// <summary>
    /// DNS rebinding: a page of attacker.example, whose name then resolves to 127.0.0.1, calls `vmci forward` on this
    /// machine with its own name as Host. The dashboard answers only the names it is reached by: loopback names,
    /// *.localhost (the gateway's origins), and the cid-N forms of host mapping.
    /// </summary>
    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_AnswersOnlyTheHostNamesItIsReachedBy_AlsoThroughForward()
    {
        await using WebApplicationFactory<Program> factory = SampleDashboard.Start(out uint port);
        int forwardPort = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{forwardPort}", "--to", $"vsock://1:{port}"]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        using var tcp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{forwardPort}/"), Timeout = TimeSpan.FromSeconds(60) };
        using var vsock = new HttpClient(VmciHttp.CreateHandler(new VmciEndPoint(VmciCid.Local, port))) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(60) };

        async Task<int> StatusAsync(HttpClient client, string host)
        {
            using HttpResponseMessage response = await GatewayRoutingTests.GetAsync(client, "/api/status", host);
            return (int)response.StatusCode;
        }

        Assert.Equal(400, await StatusAsync(tcp, $"attacker.example:{forwardPort}"));
        Assert.Equal(400, await StatusAsync(tcp, $"localhost.attacker.example:{forwardPort}"));
        Assert.Equal(200, await StatusAsync(tcp, $"127.0.0.1:{forwardPort}"));
        Assert.Equal(200, await StatusAsync(tcp, $"localhost:{forwardPort}"));
        Assert.Equal(200, await StatusAsync(tcp, $"[::1]:{forwardPort}"));
        Assert.Equal(200, await StatusAsync(tcp, "cid-1.localhost:8080"));
        Assert.Equal(200, await StatusAsync(vsock, "cid-1"));
        Assert.Equal(200, await StatusAsync(vsock, "cid-local:8080"));
        Assert.Equal(400, await StatusAsync(vsock, "my-vm"));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_TakesItsHostNamesFromAllowedHosts()
    {
        await using WebApplicationFactory<Program> factory = SampleDashboard.Start(out uint port, ("AllowedHosts", "dashboard.example;*.vms.example"));
        using var vsock = new HttpClient(VmciHttp.CreateHandler(new VmciEndPoint(VmciCid.Local, port))) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(60) };

        async Task<int> StatusAsync(string host)
        {
            using HttpResponseMessage response = await GatewayRoutingTests.GetAsync(vsock, "/healthz", host);
            return (int)response.StatusCode;
        }

        Assert.Equal(200, await StatusAsync("dashboard.example"));
        Assert.Equal(200, await StatusAsync("vm3.vms.example:8080"));
        Assert.Equal(400, await StatusAsync("localhost"));
    }

    /// <summary>The dashboard for programs: gRPC on the HTTP/2 port, a unary status and a watch stream.</summary>
    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_AnswersGrpc_OnItsHttp2Port_StatusAndAWatchStream()
    {
        await using WebApplicationFactory<Program> factory = SampleDashboard.Start(out uint port);
        var http2 = new VmciEndPoint(VmciCid.Local, port + 1);
        VsockGuard.EnsureMayConnect(http2);
        using GrpcChannel channel = GrpcChannel.ForAddress("http://cid-local", new GrpcChannelOptions { HttpHandler = VmciHttp.CreateHandler(http2) });
        var dashboard = new Dashboard.DashboardClient(channel);

        GetStatusReply reply = await dashboard.GetStatusAsync(new GetStatusRequest(), cancellationToken: Ct);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using AsyncServerStreamingCall<VmStatus> watch = dashboard.WatchStatus(new WatchStatusRequest(), cancellationToken: watching.Token);
        var snapshots = new System.Collections.Generic.List<VmStatus>();
        while (snapshots.Count < 2 && await watch.ResponseStream.MoveNext(watching.Token))
        {
            snapshots.Add(watch.ResponseStream.Current);
        }

        await watching.CancelAsync();

        Assert.Equal("vsock", reply.You.Transport);
        Assert.Equal("HTTP/2", reply.You.Protocol);
        Assert.Equal(1u, reply.You.PeerCid);
        Assert.True(reply.You.PeerPort > 0);
        Assert.Equal($"vsock://1:{port + 1}", reply.You.LocalEndPoint);
        Assert.Equal(1u, reply.Status.LocalCid);
        Assert.StartsWith(".NET ", reply.Status.DotnetVersion, StringComparison.Ordinal);
        Assert.Equal(1, reply.Status.RequestsServed); // this call itself
        Assert.Equal(2, snapshots.Count);
        Assert.All(snapshots, s => Assert.Equal(1u, s.LocalCid));
        Assert.True(snapshots[1].UptimeSeconds > snapshots[0].UptimeSeconds);
        Assert.Equal(reply.Status.ServerStartedUnixMs, snapshots[0].ServerStartedUnixMs);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Client_PrintsTheDashboardAndHowItSeesTheCaller()
    {
        await using WebApplicationFactory<Program> factory = SampleDashboard.Start(out uint port);

        var (exit, stdout, stderr) = await ExternalProcess.RunAsync("dotnet",
            [System.IO.Path.Combine(AppContext.BaseDirectory, "WebAppOverVmci.Client.dll"), $"vsock://local:{port}"]);
        var (refusedExit, _, refusedStderr) = await ExternalProcess.RunAsync("dotnet",
            [System.IO.Path.Combine(AppContext.BaseDirectory, "WebAppOverVmci.Client.dll"), $"vsock://local:{TestSockets.ClosedLoopbackPort().Port}"]);

        Assert.True(exit == 0, stderr);
        Assert.Contains($"dashboard at vsock://1:{port}:", stdout, StringComparison.Ordinal);
        Assert.Contains("(local CID 1)", stdout, StringComparison.Ordinal);
        Assert.Matches($@"sees you +as CID 1 port \d+ over HTTP/1.1 on vsock://1:{port}", stdout);
        Assert.Equal(1, refusedExit);
        Assert.Contains("nothing listens on port", refusedStderr, StringComparison.Ordinal);
    }
}

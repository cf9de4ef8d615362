using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Across two kernels: real guests (CIDs 3 and 4, the virtio vsock transport, no .NET runtime) and this sandbox
/// VM as their host (CID 2, vhost-vsock). Host to guest: Vmci.AotSmoke (Native AOT) in the guests, called by the
/// vmci tool, VmciHttp, IHttpClientFactory and the vmci gateway here. Guest to host: Vmci.AotSmoke's client in the
/// guests calls Kestrel here, which sees each guest's real CID. One collection: the tests share the guests and
/// run one at a time.
/// </summary>
[Collection(nameof(GuestTests))]
public sealed class GuestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GuestFact]
    public async Task HostToGuest_VmciGet_TheGuestSaysCid3AndSeesTheHostAsCid2()
    {
        await GuestServers.EnsureAsync(3);

        // The kernel's 2 s connect timeout is too short for a nested guest busy starting its other server (the pass
        // of 2026-12-01 timed out once); a user with slow guests passes --connect-timeout as well.
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(
            "dotnet", [ToolProcess.ToolPath, "get", "--connect-timeout", "30", $"vsock://3:{GuestServers.SmokePort}/status"], timeout: TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, $"vmci get exited {exitCode}: {stderr}");
        Assert.Equal(GuestServers.Status(3), stdout.Trim());
    }

    [GuestFact]
    public async Task HostToGuest_HttpClientFactoryWithCidUrls_ReachesEachGuestByItsCid()
    {
        await GuestServers.EnsureAsync(3);
        await GuestServers.EnsureAsync(4);
        var services = new ServiceCollection();
        services.AddHttpClient("guests").UseVmci();
        using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("guests");

        string three = await client.GetStringAsync(new Uri($"http://cid-3:{GuestServers.SmokePort}/status"), Ct);
        string four = await client.GetStringAsync(new Uri($"http://cid-4:{GuestServers.SmokePort}/status"), Ct);

        Assert.Equal(GuestServers.Status(3), three);
        Assert.Equal(GuestServers.Status(4), four);
    }

    [GuestFact]
    public async Task HostToGuest_H2c_VmciHttpSpeaksHttp2ToTheGuest()
    {
        await GuestServers.EnsureAsync(3);
        var target = new VmciEndPoint(3, GuestServers.SmokeHttp2Port);
        VsockGuard.EnsureMayConnect(target);
        using var client = new HttpClient(VmciHttp.CreateHandler(target))
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using HttpResponseMessage response = await client.GetAsync(new Uri("http://guest-3/status"), Ct);

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(GuestServers.Status(3, "HTTP/2"), await response.Content.ReadAsStringAsync(Ct));
    }

    [GuestFact]
    public async Task HostToGuest_TenMegabyteDownload_ArrivesWhole()
    {
        await GuestServers.EnsureAsync(3);
        const long Length = 10 * 1024 * 1024;
        using var client = new HttpClient(VmciHttp.CreateHandler()) { Timeout = TimeSpan.FromMinutes(10) };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        using HttpResponseMessage response = await client.GetAsync(new Uri($"http://cid-3:{GuestServers.SmokePort}/bytes/{Length}"), HttpCompletionOption.ResponseHeadersRead, Ct);
        response.EnsureSuccessStatusCode();
        await using Stream body = await response.Content.ReadAsStreamAsync(Ct);
        byte[] buffer = new byte[1 << 16];
        long received = 0;
        long firstWrong = -1;
        int n;
        while ((n = await body.ReadAsync(buffer, Ct)) > 0)
        {
            for (int i = 0; i < n && firstWrong < 0; i++)
            {
                if (buffer[i] != (byte)((received + i) % 251))
                {
                    firstWrong = received + i;
                }
            }

            received += n;
        }

        Assert.Equal(Length, received);
        Assert.Equal(-1, firstWrong);
        TestContext.Current.TestOutputHelper?.WriteLine(System.FormattableString.Invariant($"10 MiB from guest 3 in {clock.Elapsed.TotalSeconds:0.0} s"));
    }

    [GuestFact]
    public async Task GuestToHost_KestrelHereSeesTheGuestsRealCid()
    {
        await GuestServers.EnsureAsync(3);
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", (HttpContext c) => $"peer {c.GetVmciConnection()?.PeerCid}"), port: GuestServers.HostPort());

        string output = await Guests.RunAsync(3, $"{GuestServers.Smoke} get http://cid-host:{server.Target.Port}/");

        Assert.Equal("1: 200 peer 3", output.Trim());
    }

    [GuestFact]
    public async Task GuestToHost_AllowedPeerCids3_ServesGuest3AndRefusesGuest4()
    {
        await GuestServers.EnsureAsync(3);
        await GuestServers.EnsureAsync(4);
        var rejected = new ConcurrentQueue<(long Value, Dictionary<string, object?> Tags)>();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => $"peer {c.GetVmciConnection()?.PeerCid}"),
            transport: t => t.AllowedPeerCids.Add(3),
            port: GuestServers.HostPort());
        using MeterListener listener = ServerMeters.Listen(server, "Vmci.Kestrel", "vmci.kestrel.rejected_connections", (v, tags) => rejected.Enqueue((v, tags)));

        string served = await Guests.RunAsync(3, $"{GuestServers.Smoke} get http://cid-host:{server.Target.Port}/");
        var (refusedExit, refused) = await Guests.ExecAsync(4, $"{GuestServers.Smoke} get http://cid-host:{server.Target.Port}/");

        Assert.Equal("1: 200 peer 3", served.Trim());
        Assert.True(refusedExit == 1, $"guest 4 was not refused: {refused}");
        Assert.StartsWith("1: error: ", refused.Trim(), StringComparison.Ordinal);
        LogEntry[] logged = server.Logs.Category("Vmci.Kestrel").Where(e => e.EventId.Id == 2).ToArray();
        Assert.NotEmpty(logged);
        Assert.All(logged, e => Assert.Contains("CID 4 is not in AllowedPeerCids", e.Message, StringComparison.Ordinal));
        Assert.NotEmpty(rejected);
        Assert.All(rejected, r => Assert.Equal(4L, r.Tags["vsock.peer.cid"]));
        Assert.All(rejected, r => Assert.Equal("peer_cid_not_allowed", r.Tags["vmci.rejection.reason"]));
    }

    [GuestFact]
    public async Task GuestToHost_MaxConnectionsPerPeerCid_CountsEachGuestApart_AndMetricsCarryTheRealCids()
    {
        await GuestServers.EnsureAsync(3);
        await GuestServers.EnsureAsync(4);
        var durations = new ConcurrentQueue<Dictionary<string, object?>>();
        var rejected = new ConcurrentQueue<Dictionary<string, object?>>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new ConcurrentQueue<uint>();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/hold", async (HttpContext c) =>
            {
                held.Enqueue(c.GetVmciConnection()!.PeerCid);
                await release.Task.WaitAsync(c.RequestAborted);
                return $"peer {c.GetVmciConnection()?.PeerCid}";
            }),
            transport: t => t.MaxConnectionsPerPeerCid = 2,
            port: GuestServers.HostPort());
        using MeterListener kestrel = ServerMeters.Listen(server, "Microsoft.AspNetCore.Server.Kestrel", "kestrel.connection.duration", (_, tags) => durations.Enqueue(tags));
        using MeterListener vmci = ServerMeters.Listen(server, "Vmci.Kestrel", "vmci.kestrel.rejected_connections", (_, tags) => rejected.Enqueue(tags));
        string url = $"http://cid-host:{server.Target.Port}/hold";

        // Guest 3 opens three connections at once (one over its limit of two), guest 4 two: each CID has its own count.
        await Guests.RunAsync(3, $"{GuestServers.Smoke} get {url} 3 >/tmp/hold.out 2>&1 &");
        await Guests.RunAsync(4, $"{GuestServers.Smoke} get {url} 2 >/tmp/hold.out 2>&1 &");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            while (held.Count < 4 || rejected.IsEmpty)
            {
                await Task.Delay(200, timeout.Token);
            }
        }

        release.SetResult();
        string three = await Guests.RunAsync(3, "while [ \"$(pidof Vmci.AotSmoke | wc -w)\" -gt 1 ]; do sleep 0.2; done; cat /tmp/hold.out");
        string four = await Guests.RunAsync(4, "while [ \"$(pidof Vmci.AotSmoke | wc -w)\" -gt 1 ]; do sleep 0.2; done; cat /tmp/hold.out");

        Assert.Equal([3u, 3u, 4u, 4u], held.Order());
        string[] threeLines = Lines(three);
        Assert.Equal(2, threeLines.Count(l => l.EndsWith(": 200 peer 3", StringComparison.Ordinal)));
        Assert.Single(threeLines, l => l.Contains(": error: ", StringComparison.Ordinal));
        Assert.Equal(2, Lines(four).Count(l => l.EndsWith(": 200 peer 4", StringComparison.Ordinal)));
        Assert.All(rejected, r => Assert.Equal(3L, r["vsock.peer.cid"]));
        Assert.All(rejected, r => Assert.Equal("peer_connection_limit", r["vmci.rejection.reason"]));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            while (durations.Count < 4)
            {
                await Task.Delay(200, timeout.Token);
            }
        }

        Assert.Equal([3L, 3L, 4L, 4L], durations.Select(d => (long)d["vsock.peer.cid"]!).Order());
    }

    [GuestFact]
    public async Task Gateway_WithGuests3And4_ServesEachRealGuestOnItsOwnOrigin()
    {
        await GuestServers.EnsureAsync(3);
        await GuestServers.EnsureAsync(4);
        int port = ExternalProcess.FreeTcpPort();
        // A nested guest under TCG can take longer than the default 2 s (+3 s for the answer) to answer a probe:
        // the pass of 2026-12-01 saw guest 3 reported unreachable while the gateway had just carried its /status.
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", "3,4", "--guest-port", $"{GuestServers.SmokePort}", "--connect-timeout", "30"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 3, 4");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
            Timeout = TimeSpan.FromMinutes(2),
        };

        using HttpResponseMessage three = await GatewayRoutingTests.GetAsync(client, "/status", $"cid-3.localhost:{port}");
        using HttpResponseMessage four = await GatewayRoutingTests.GetAsync(client, "/status", $"cid-4.localhost:{port}");
        string guests = await client.GetStringAsync("/api/guests", Ct);

        Assert.Equal(GuestServers.Status(3), await three.Content.ReadAsStringAsync(Ct));
        Assert.Equal(GuestServers.Status(4), await four.Content.ReadAsStringAsync(Ct));
        // The whole answer on failure: its detail says why a probe failed.
        Assert.True(guests.Contains("\"guest\":\"cid-3\",\"cid\":3,\"reachable\":true", StringComparison.Ordinal), guests);
        Assert.True(guests.Contains("\"guest\":\"cid-4\",\"cid\":4,\"reachable\":true", StringComparison.Ordinal), guests);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

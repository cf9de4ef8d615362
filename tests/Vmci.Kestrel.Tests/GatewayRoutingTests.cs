using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Vmci.Native;
using Vmci.Tool;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The gateway's Host routing, here on the host: the classification on its own, then the real gateway (Kestrel,
/// HttpClient) for every answer that reaches no guest: rejected hosts, unknown guests, redirects, the index.
/// Nothing here asks for a guest's origin, so nothing connects over vsock.
/// </summary>
public sealed class GatewayRoutingTests
{
    private static readonly GatewayGuest Cid3 = GatewayGuest.ForCid(3, 8080, toHost: false);
    private static readonly GatewayGuest Web = new("web", "web", new VmciEndPoint(4, 80));
    private static readonly GatewayHosts Hosts = new([Cid3, Web]);

    [Theory]
    [InlineData("localhost:8080", nameof(GatewayHostKind.Gateway), null)]
    [InlineData("LOCALHOST", nameof(GatewayHostKind.Gateway), null)]
    [InlineData("127.0.0.1:8080", nameof(GatewayHostKind.Gateway), null)]
    [InlineData("[::1]:8080", nameof(GatewayHostKind.Gateway), null)]
    [InlineData("cid-3.localhost:8080", nameof(GatewayHostKind.Guest), "cid-3")]
    [InlineData("CID-3.LocalHost", nameof(GatewayHostKind.Guest), "cid-3")]
    [InlineData("web.localhost:1", nameof(GatewayHostKind.Guest), "web")]
    [InlineData("cid-9.localhost:8080", nameof(GatewayHostKind.UnknownGuest), "cid-9")]
    [InlineData("cid-03.localhost:8080", nameof(GatewayHostKind.UnknownGuest), "cid-03")]
    [InlineData("x.cid-3.localhost:8080", nameof(GatewayHostKind.UnknownGuest), "x.cid-3")]
    [InlineData("cid-3.evil.example:8080", nameof(GatewayHostKind.Foreign), "cid-3.evil.example")]
    [InlineData("cid-3.localhost.evil.example", nameof(GatewayHostKind.Foreign), "cid-3.localhost.evil.example")]
    [InlineData("localhost.:8080", nameof(GatewayHostKind.Foreign), "localhost.")]
    [InlineData("127.0.0.2:8080", nameof(GatewayHostKind.Foreign), "127.0.0.2")]
    [InlineData(".localhost", nameof(GatewayHostKind.Foreign), ".localhost")]
    [InlineData("", nameof(GatewayHostKind.Missing), null)]
    public void Match_RoutesOnTheHostName(string host, string expected, string? label)
    {
        GatewayHostKind kind = Enum.Parse<GatewayHostKind>(expected);

        GatewayHostMatch match = Hosts.Match(new HostString(host));

        Assert.Equal(kind, match.Kind);
        Assert.Equal(label, match.Guest?.Label ?? match.Label);
        Assert.Equal(kind == GatewayHostKind.Guest, match.Guest is not null);
    }

    [Fact]
    public void Origins_KeepThePortTheBrowserUsed()
    {
        Assert.Equal("http://cid-3.localhost:9000", GatewayHosts.OriginOf(Cid3, new HostString("127.0.0.1:9000")));
        Assert.Equal("http://web.localhost", GatewayHosts.OriginOf(Web, new HostString("localhost")));
        Assert.Equal("http://localhost:9000", GatewayHosts.GatewayOrigin(new HostString("cid-3.localhost:9000")));
        Assert.Same(Web, Hosts.FindByPathId("web"));
        Assert.Same(Cid3, Hosts.FindByPathId("3"));
        Assert.Null(Hosts.FindByPathId("cid-3"));
    }

    [Theory]
    [InlineData("a=1; Domain=localhost; Path=/", "a=1; Path=/")]
    [InlineData("a=1;domain=.localhost;HttpOnly", "a=1;HttpOnly")]
    [InlineData("a=1; Path=/; DOMAIN = localhost", "a=1; Path=/")]
    [InlineData("domain=x; Path=/", "domain=x; Path=/")]
    [InlineData("a=domain; Path=/domains", "a=domain; Path=/domains")]
    public void GuestCookies_AreMadeHostOnly(string setCookie, string expected)
        => Assert.Equal(expected, GuestTransformer.HostOnly(setCookie));

    [Theory]
    [InlineData("/run/fc-1.vsock", "run-fc-1-vsock")]
    [InlineData("/run/vms/Web_1/fc.vsock", "run-vms-web-1-fc-vsock")]
    [InlineData("/9/cid-3", "vm-9-cid-3")]
    [InlineData("/cid-3.sock", "vm-cid-3-sock")]
    [InlineData("/---/x", "x")]
    public void HybridGuests_AreNamedAfterTheWholeSocketPath(string path, string label)
        => Assert.Equal(label, GatewayGuest.ForHybrid(new HybridVsockEndPoint(path, 8080)).Label);

    [Fact]
    public void HybridGuests_WithLongPaths_KeepTheEndAndAHashOfTheWhole()
    {
        string deep = "/var/lib/firecracker/" + new string('d', 80) + "/one/fc.vsock";
        string other = "/var/lib/firecracker/" + new string('e', 80) + "/one/fc.vsock";

        string label = GatewayGuest.ForHybrid(new HybridVsockEndPoint(deep, 80)).Label;

        Assert.Equal(63, label.Length);
        Assert.Matches("^vm-[0-9a-f]{8}-d+-one-fc-vsock$", label);
        Assert.NotEqual(label, GatewayGuest.ForHybrid(new HybridVsockEndPoint(other, 80)).Label);
    }

    [Fact]
    public void NamedGuests_AreDnsLabels_AndNotCids()
    {
        Assert.True(GatewayGuest.TryParseNamed("Web-1=vsock://3:8080", out GatewayGuest? guest, out _));
        Assert.Equal(new GatewayGuest("web-1", "web-1", new VmciEndPoint(3, 8080)), guest);
        foreach (string bad in new[] { "cid-4=vsock://3:80", "4=vsock://3:80", "a.b=vsock://3:80", "web", "web=tcp://3:80", "web=vsock://any:80", "-a=vsock://3:80" })
        {
            Assert.False(GatewayGuest.TryParseNamed(bad, out _, out string? error), bad);
            Assert.StartsWith($"--guest '{bad}'", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Gateway_AnswersRejectedHostsUnknownGuestsAndRedirects_WithoutAGuest()
    {
        await using WebApplication gateway = GatewayCommand.Build(new GatewaySettings(new IPEndPoint(IPAddress.Loopback, 0), [Cid3, Web], TimeSpan.FromSeconds(2), ClientAllowList.LoopbackOnly));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        var address = new Uri(gateway.Urls.First());
        int port = address.Port;
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = address };

        using HttpResponseMessage foreign = await GetAsync(client, "/", $"cid-3.evil.example:{port}");
        using HttpResponseMessage rebound = await GetAsync(client, "/vm/3/", $"attacker.example:{port}");
        using HttpResponseMessage unknownHost = await GetAsync(client, "/", $"cid-9.localhost:{port}");
        using HttpResponseMessage unknownPath = await GetAsync(client, "/vm/9/x", $"localhost:{port}");
        using HttpResponseMessage bare = await GetAsync(client, "/vm/3", $"localhost:{port}");
        using HttpResponseMessage deep = await GetAsync(client, "/vm/web/a%20b/c%2Fd?q=x%26y&r", $"127.0.0.1:{port}");
        using HttpResponseMessage notAGuestPath = await GetAsync(client, "/healthz", $"localhost:{port}");
        using HttpResponseMessage index = await GetAsync(client, "/", $"localhost:{port}");

        Assert.Equal(HttpStatusCode.MisdirectedRequest, foreign.StatusCode);
        Assert.Contains("cid-3.evil.example is not a host of this gateway", await foreign.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, rebound.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownHost.StatusCode);
        Assert.Contains("cid-9.localhost is not a guest of this gateway", await unknownHost.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownPath.StatusCode);
        Assert.Contains("CID 9 is not a guest of this gateway", await unknownPath.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, bare.StatusCode);
        Assert.Equal($"http://cid-3.localhost:{port}/", bare.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, deep.StatusCode);
        Assert.Equal($"http://web.localhost:{port}/a%20b/c%2Fd?q=x%26y&r", deep.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.NotFound, notAGuestPath.StatusCode);
        string page = await index.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains($"href=\"http://cid-3.localhost:{port}/\"", page, StringComparison.Ordinal);
        Assert.Contains($"href=\"http://web.localhost:{port}/\"", page, StringComparison.Ordinal);
        Assert.Equal("400", await StatusWithoutHostAsync(port));
    }

    /// <summary>A GET with the Host header a browser would send for <paramref name="host"/>, to the gateway's own address.</summary>
    internal static Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>An HTTP/1.0 request may leave out Host; HttpClient always sends one, so this is written by hand.</summary>
    private static async Task<string> StatusWithoutHostAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        await socket.SendAsync("GET / HTTP/1.0\r\n\r\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
        string answer = await RawClient.ReceiveToEndOrResetAsync(socket, TestContext.Current.CancellationToken);
        return answer.Split(' ')[1];
    }
}

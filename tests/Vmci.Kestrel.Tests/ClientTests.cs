using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

[Trait("Category", "Vsock")]
public sealed class ClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectionFactory_GivesAPipeConnection_ThatSpeaksHttp()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "pipes"));
        using var factory = new VmciConnectionFactory();
        VsockGuard.EnsureMayConnect(server.Target);

        await using ConnectionContext connection = await factory.ConnectAsync(server.Target, Ct);
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Ct);
        string response = await ReadToEndAsync(connection.Transport.Input);

        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n5\r\npipes\r\n0\r\n\r\n", response, StringComparison.Ordinal);
        Assert.Equal(server.Target, connection.RemoteEndPoint);
        IVmciConnectionFeature feature = connection.Features.Get<IVmciConnectionFeature>()!;
        Assert.Equal(server.Target, feature.RemoteEndPoint);
        // The kernel binds a connecting socket to VMADDR_CID_ANY and an ephemeral port, and says so.
        Assert.Equal(VmciCid.Any, feature.LocalEndPoint.Cid);
        Assert.Equal(connection.LocalEndPoint, feature.LocalEndPoint);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectionFactory_NoListener_IsRefused_NamingTheEndPoint()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        using var factory = new VmciConnectionFactory();

        var ex = await Assert.ThrowsAsync<VmciSocketException>(() => factory.ConnectAsync(closed, Ct).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
        Assert.Contains(closed.ToString(), ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HttpClient_NoListener_FailsWithTheEndPointAndTheCause()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        using var client = new HttpClient(VmciHttp.CreateHandler(closed));

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("http://dashboard/", Ct));

        Assert.Equal(HttpRequestError.ConnectionError, ex.HttpRequestError);
        var inner = Assert.IsType<VmciSocketException>(ex.InnerException);
        Assert.Equal(SocketError.ConnectionRefused, inner.SocketErrorCode);
        Assert.Contains($"nothing listens on port {closed.Port} at CID 1", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectRetryTimeout_AServerThatStartsLate_IsReached()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        using var client = new HttpClient(VmciHttp.CreateHandler(closed, new VmciConnectionFactoryOptions { ConnectRetryTimeout = TimeSpan.FromMinutes(2) }));

        Task<string> request = client.GetStringAsync("http://late/", Ct);
        // The scenario, not a synchronization: the client meets nothing for a while (each attempt is reset).
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        Assert.False(request.IsCompleted, request.IsFaulted ? request.Exception!.ToString() : "answered before the server started");
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "late but there"), port: closed.Port);

        Assert.Equal("late but there", await request);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectRetryTimeout_RunsOut_TheErrorNamesTheEndPointTheTimeWaitedAndTheCause()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        using var factory = new VmciConnectionFactory(
            Microsoft.Extensions.Options.Options.Create(new VmciConnectionFactoryOptions { ConnectRetryTimeout = TimeSpan.FromSeconds(1) }),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => factory.ConnectAsync(closed, Ct).AsTask());

        Assert.StartsWith($"{closed} did not accept a connection within 1 s (", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectRetryTimeout", ex.Message, StringComparison.Ordinal);
        var last = Assert.IsType<VmciSocketException>(ex.InnerException);
        Assert.Equal(SocketError.ConnectionRefused, last.SocketErrorCode);
        Assert.Contains(last.Message, ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HttpClient_Cancelled_BeforeConnect_Throws()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "x"));
        using HttpClient client = server.CreateClient();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetStringAsync("/", new CancellationToken(canceled: true)));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HttpClientFactory_UseVmci_FixedEndPoint()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", (HttpContext c) => $"host={c.Request.Host}"));
        VsockGuard.EnsureMayConnect(server.Target);
        var services = new ServiceCollection();
        services.AddHttpClient("dashboard", c => c.BaseAddress = new Uri("http://my-vm/"))
            .UseVmci(server.Target, o => o.ConnectTimeout = TimeSpan.FromSeconds(5));
        await using ServiceProvider provider = services.BuildServiceProvider();

        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("dashboard");

        Assert.Equal("host=my-vm", await client.GetStringAsync("/", Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HttpClientFactory_UseVmci_CidHostMapping()
    {
        // URLs carry ports up to 65535 only, and ephemeral vsock ports are larger: bind one that fits.
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", (HttpContext c) => $"{c.GetVmciConnection()!.LocalEndPoint}"), port: VsockServer.UrlSafePort());
        VsockGuard.EnsureMayConnect(server.Target);
        var services = new ServiceCollection();
        services.AddHttpClient("vms").UseVmci();
        await using ServiceProvider provider = services.BuildServiceProvider();
        HttpClient client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("vms");

        Assert.Equal(server.Target.ToString(), await client.GetStringAsync($"http://cid-1:{server.Target.Port}/", Ct));
        Assert.Equal(server.Target.ToString(), await client.GetStringAsync($"http://cid-local:{server.Target.Port}/", Ct));
    }

    /// <summary>A guest that answers every request with a redirect to another CID: a host service, or another guest.</summary>
    private static void MapRedirects(WebApplication app)
    {
        app.MapGet("/to-host", () => Results.Redirect("http://cid-host:9999/"));
        app.MapGet("/to-guest", () => Results.Redirect("http://cid-4:8080/"));
        app.MapGet("/", (HttpContext c) => $"host={c.Request.Host} secret={c.Request.Headers["X-Secret"]}");
    }

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData("/to-host", "http://cid-host:9999/")]
    [InlineData("/to-guest", "http://cid-4:8080/")]
    public async Task HostMapping_DoesNotFollowARedirect_ToAnotherCid(string path, string location)
    {
        await using VsockServer guest = await VsockServer.StartAsync(MapRedirects, port: VsockServer.UrlSafePort());
        VsockGuard.EnsureMayConnect(guest.Target);
        var services = new ServiceCollection();
        services.AddHttpClient("vms").UseVmci();
        await using ServiceProvider provider = services.BuildServiceProvider();
        using var direct = new HttpClient(VmciHttp.CreateHandler());

        foreach (HttpClient client in new[] { direct, provider.GetRequiredService<IHttpClientFactory>().CreateClient("vms") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://cid-local:{guest.Target.Port}{path}") { Headers = { { "X-Secret", "for guest 1 only" } } };
            using HttpResponseMessage response = await client.SendAsync(request, Ct);

            Assert.Equal(System.Net.HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal(new Uri(location), response.Headers.Location);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task FixedEndPoint_FollowsARedirect_OnlyToItsOwnEndPoint()
    {
        await using VsockServer guest = await VsockServer.StartAsync(MapRedirects);
        using HttpClient client = guest.CreateClient();
        client.DefaultRequestHeaders.Add("X-Secret", "for guest 1 only");

        // Whatever the Location names, the connection goes where the handler was told: the guest that redirected.
        Assert.Equal("host=cid-4:8080 secret=for guest 1 only", await client.GetStringAsync("/to-guest", Ct));
    }

    internal static async Task<string> ReadToEndAsync(PipeReader reader)
    {
        var text = new StringBuilder();
        while (true)
        {
            ReadResult result = await reader.ReadAsync(Ct);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                text.Append(Encoding.ASCII.GetString(segment.Span));
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return text.ToString();
            }
        }
    }
}

/// <summary>The client API's checks that need no vsock peer.</summary>
public sealed class ClientArgumentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConnectionFactory_RejectsOtherEndPoints()
    {
        using var factory = new VmciConnectionFactory();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => factory.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 80), Ct).AsTask());

        Assert.Contains("VmciEndPoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CidHostMapping_UnknownHost_SaysHowToWriteOne()
    {
        using var client = new HttpClient(VmciHttp.CreateHandler());

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("http://example.com:8080/", Ct));

        Assert.Contains("'example.com' names no vsock CID", ex.Message + ex.InnerException?.Message, StringComparison.Ordinal);
        Assert.Contains("http://cid-N:PORT/", ex.Message + ex.InnerException?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cid-3", 3u)]
    [InlineData("CID-42", 42u)]
    [InlineData("cid-local", 1u)]
    [InlineData("cid-host", 2u)]
    [InlineData("cid-4294967294", 4294967294u)]
    public void ResolveCidHost_MapsHostAndPort(string host, uint cid)
    {
        Assert.Equal(new VmciEndPoint(cid, 8080), VmciHttp.ResolveCidHost(new System.Net.DnsEndPoint(host, 8080)));
    }

    [Theory]
    [InlineData("cid-")]
    [InlineData("cid-x")]
    [InlineData("cid--1")]
    [InlineData("cid-4294967295")]
    [InlineData("cid-+3")]
    [InlineData("localhost")]
    public void ResolveCidHost_RejectsWhatIsNoCid(string host)
    {
        Assert.Throws<HttpRequestException>(() => VmciHttp.ResolveCidHost(new System.Net.DnsEndPoint(host, 8080)));
    }

    [Fact]
    public void ConnectTo_Any_IsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => VmciHttp.ConnectTo(new VmciEndPoint(VmciCid.Any, 80)));

        Assert.Contains("'any' is for binding", ex.Message, StringComparison.Ordinal);
    }
}

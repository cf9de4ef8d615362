using System;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vmci.Kestrel.Internal;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Endpoints and transport options from configuration: command line here, the same keys as appsettings.json and environment.</summary>
[Trait("Category", "Vsock")]
public sealed class ConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Endpoints_FromConfiguration_WithProtocols_ServeWithoutCode()
    {
        uint h1 = VsockServer.UrlSafePort(), h2 = VsockServer.UrlSafePort();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => c.Request.Protocol),
            args: [$"--Vmci:Endpoints:Web:Url=vsock://any:{h1}", "--Vmci:Endpoints:Web:Protocols=Http1", $"--Vmci:Endpoints:Grpc:Url=vsock:any:{h2}", "--Vmci:Endpoints:Grpc:Protocols=Http2"]);
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, h1));
        using var client = new HttpClient(VmciHttp.CreateHandler());

        using var http1 = new HttpRequestMessage(HttpMethod.Get, $"http://cid-local:{h1}/");
        using var http2 = new HttpRequestMessage(HttpMethod.Get, $"http://cid-local:{h2}/") { Version = new Version(2, 0), VersionPolicy = HttpVersionPolicy.RequestVersionExact };

        Assert.Equal("HTTP/1.1", await (await client.SendAsync(http1, Ct)).Content.ReadAsStringAsync(Ct));
        Assert.Equal("HTTP/2", await (await client.SendAsync(http2, Ct)).Content.ReadAsStringAsync(Ct));
        Assert.Equal(2, server.Addresses.Count(a => a.Contains("vsock://any:", StringComparison.Ordinal)));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Defaults_GiveBothEndsA4MiBWindow_AndAMaximumSetOnPurposeCapsIt()
    {
        static string Window(HttpContext c) => c.Features.GetRequiredFeature<IConnectionSocketFeature>().Socket.GetVmciBufferSize().ToString(CultureInfo.InvariantCulture);
        await using VsockServer byDefault = await VsockServer.StartAsync(app => app.MapGet("/", Window));
        await using VsockServer capped = await VsockServer.StartAsync(app => app.MapGet("/", Window), transport: t => t.BufferMaxSize = 1 << 20);
        using HttpClient client = byDefault.CreateClient();
        using HttpClient cappedClient = capped.CreateClient();
        using var clients = new VmciConnectionFactory();
        await using ConnectionContext connection = await clients.ConnectAsync(byDefault.Target, Ct);

        Assert.Equal("4194304", await client.GetStringAsync("/", Ct));
        Assert.Equal("1048576", await cappedClient.GetStringAsync("/", Ct));
        Assert.Equal(VmciTransportOptions.DefaultBufferSize, connection.Features.GetRequiredFeature<IConnectionSocketFeature>().Socket.GetVmciBufferSize());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task Urls_FromConfiguration_Listen()
    {
        uint a = VsockServer.UrlSafePort(), b = VsockServer.UrlSafePort();
        await using VsockServer server = await VsockServer.StartAsync(app => { }, args: [$"--Vmci:Urls=vsock://any:{a};vsock://any:{b}"]);

        Assert.Contains($"http://vsock://any:{a}", server.Addresses);
        Assert.Contains($"http://vsock://any:{b}", server.Addresses);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task VmciUrls_AndHostingUrls_BothServe()
    {
        uint port = VsockServer.UrlSafePort();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => c.Connection.RemoteIpAddress is null ? "vsock" : "tcp"),
            args: [$"--Vmci:Urls=vsock://any:{port}", "--urls=http://127.0.0.1:0"]);
        string tcp = server.Addresses.Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        using var tcpClient = new HttpClient();
        using HttpClient vsockClient = server.CreateClient();

        Assert.Equal("tcp", await tcpClient.GetStringAsync(tcp, Ct));
        Assert.Equal("vsock", await vsockClient.GetStringAsync("/", Ct));
        Assert.Equal(2, server.Addresses.Count);
    }

    [Fact]
    public void TransportOptions_FromConfiguration()
    {
        using WebApplication app = Build(
            "--Vmci:Transport:Backlog=64", "--Vmci:Transport:BufferSize=1048576", "--Vmci:Transport:AllowedPeerCids=2, 3",
            "--Vmci:Transport:MaxReadBufferSize=", "--Vmci:Transport:MaxBufferedBytesPerPeerCid=536870912", "--Vmci:Transport:WaitForDataBeforeAllocatingBuffer=false");

        VmciTransportOptions options = app.Services.GetRequiredService<IOptions<VmciTransportOptions>>().Value;

        Assert.Equal(64, options.Backlog);
        Assert.Equal(1048576ul, options.BufferSize);
        Assert.Equal(new uint[] { 2, 3 }, options.AllowedPeerCids.Order());
        Assert.Null(options.MaxReadBufferSize);
        Assert.Equal(512L << 20, options.MaxBufferedBytesPerPeerCid);
        Assert.Equal(64 * 1024, options.MaxWriteBufferSize);
        Assert.False(options.WaitForDataBeforeAllocatingBuffer);
    }

    [Theory]
    [InlineData("--Vmci:Transport:Backlog=lots", "The setting Vmci:Transport:Backlog = 'lots' is not valid: expected a whole number above 0.")]
    [InlineData("--Vmci:Transport:Backlog=0", "The setting Vmci:Transport:Backlog = '0' is not valid: expected a whole number above 0.")]
    [InlineData("--Vmci:Transport:IOQueueCount=-1", "The setting Vmci:Transport:IOQueueCount = '-1' is not valid: expected a whole number, 0 or above.")]
    [InlineData("--Vmci:Transport:BufferSize=-5", "The setting Vmci:Transport:BufferSize = '-5' is not valid")]
    [InlineData("--Vmci:Transport:AllowedPeerCids=2,x", "The setting Vmci:Transport:AllowedPeerCids = 'x' is not a CID")]
    [InlineData("--Vmci:Transport:UnsafePreferInlineScheduling=yes", "expected true or false")]
    public void BadTransportSetting_FailsNamingIt(string argument, string expected)
    {
        // Kestrel resolves its transports while the host is built, so a bad setting stops the app there.
        var ex = Assert.Throws<InvalidOperationException>(() => Build(argument).Services.GetRequiredService<IOptions<VmciTransportOptions>>().Value);

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Vmci:Urls=vsock://any:99999999999", "The setting Vmci:Urls is not valid: 'vsock://any:99999999999' is not a vsock endpoint: the port '99999999999' is out of range")]
    [InlineData("--Vmci:Urls=http://localhost:5000", "The setting Vmci:Urls is not valid: 'http://localhost:5000' is not a vsock endpoint")]
    [InlineData("--Vmci:Endpoints:Web:Url=vsock://three:80", "The setting Vmci:Endpoints:Web:Url is not valid: 'vsock://three:80' is not a vsock endpoint: the CID 'three' is not a number")]
    [InlineData("--Vmci:Endpoints:Web:Protocols=Http2", "The setting Vmci:Endpoints:Web:Url is missing")]
    [InlineData("--Vmci:Endpoints:Web:Url=vsock://any:80 --Vmci:Endpoints:Web:Protocols=Http3", "The setting Vmci:Endpoints:Web:Protocols = 'Http3' is not valid: expected Http1, Http2 or Http1AndHttp2")]
    public async Task BadEndpointSetting_FailsStartupNamingIt(string arguments, string expected)
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => BuildAndStartAsync(arguments.Split(' ')));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenVmci_WithoutUseVmci_SaysWhatIsMissing()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(k => k.ListenVmci(VmciCid.Any, 8080));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using WebApplication app = builder.Build();
            await app.StartAsync(Ct);
        });

        Assert.Equal("ListenVmci(vsock://any:8080) needs the vsock transport: call builder.WebHost.UseVmci() (or UseVmci(cid, port)) when building the host.", ex.Message);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task PortInUse_FailsStartupNamingTheEndPointAndTheFix()
    {
        await using VsockServer first = await VsockServer.StartAsync(app => { });
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseVmci(VmciCid.Any, first.Target.Port);
        await using WebApplication second = builder.Build();

        var ex = await Assert.ThrowsAsync<VmciSocketException>(() => second.StartAsync(Ct));

        Assert.StartsWith($"Binding vsock://any:{first.Target.Port} failed: another socket is already bound to port {first.Target.Port}", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void Factory_BindsOnlyVmciEndPoints()
    {
        var factory = new VmciConnectionListenerFactory(Options.Create(new VmciTransportOptions()), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        Assert.True(factory.CanBind(new VmciEndPoint(VmciCid.Any, 80)));
        Assert.False(factory.CanBind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 80)));
        Assert.False(factory.CanBind(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/x")));
        Assert.Throws<NotSupportedException>(() => factory.BindAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 80)).AsTask().GetAwaiter().GetResult());
    }

    private static async Task BuildAndStartAsync(string[] args)
    {
        await using WebApplication app = Build(args);
        await app.StartAsync(Ct);
        await app.StopAsync(Ct);
    }

    private static WebApplication Build(params string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseVmci();
        return builder.Build();
    }
}

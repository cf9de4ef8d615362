using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// <c>ASPNETCORE_URLS</c> / <c>--urls</c> beside <c>Vmci:Urls</c>: served where Kestrel itself would have served them
/// (no other endpoint), dropped where Kestrel drops them (endpoints in code or in <c>Kestrel:Endpoints</c>). The vsock
/// side is a hybrid listener (a Unix socket), so this runs anywhere; the hosting URL is 127.0.0.2, which no endpoint in
/// code uses, so its address tells whether it was listened on.
/// </summary>
public sealed class HostingUrlsTests : IDisposable
{
    private const string HostingUrl = "--urls=http://127.0.0.2:0";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"hu-{Guid.NewGuid():N}"[..12]);

    public HostingUrlsTests() => Directory.CreateDirectory(_directory);

    private string VmciUrls => $"--Vmci:Urls=hvsock://{Path.Combine(_directory, "fc.vsock")}:80";

    private static bool ServesTheHostingUrl(VsockServer server) => server.Addresses.Any(a => a.StartsWith("http://127.0.0.2:", StringComparison.Ordinal));

    [Fact]
    public async Task Served_WhenVmciUrlsAreTheOnlyOtherEndpoints()
    {
        await using VsockServer server = await VsockServer.StartAsync(_ => { }, args: [VmciUrls, HostingUrl]);

        Assert.True(ServesTheHostingUrl(server), string.Join(", ", server.Addresses));
    }

    [Fact]
    public async Task NotServed_WhenTheAppListensInCode()
    {
        await using VsockServer server = await VsockServer.StartAsync(_ => { }, args: [VmciUrls, HostingUrl],
            configure: b => b.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0)));

        Assert.False(ServesTheHostingUrl(server), string.Join(", ", server.Addresses));
        Assert.Contains(server.Addresses, a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotServed_WhenKestrelEndpointsAreConfigured()
    {
        await using VsockServer server = await VsockServer.StartAsync(_ => { }, args: [VmciUrls, HostingUrl, "--Kestrel:Endpoints:Web:Url=http://127.0.0.1:0"]);

        Assert.False(ServesTheHostingUrl(server), string.Join(", ", server.Addresses));
        Assert.Contains(server.Addresses, a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotServed_WhenTheAppAddsEndpointsThroughKestrelsLoader()
    {
        await using VsockServer server = await VsockServer.StartAsync(_ => { }, args: [VmciUrls, HostingUrl],
            configure: b => b.WebHost.ConfigureKestrel((context, k) => k.Configure(context.Configuration.GetSection("Kestrel")).Endpoint(IPAddress.Loopback, 0)));

        Assert.False(ServesTheHostingUrl(server), string.Join(", ", server.Addresses));
        Assert.Contains(server.Addresses, a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

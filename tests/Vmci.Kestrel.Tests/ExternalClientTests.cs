using System;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Clients that no one here wrote, over real vsock: socat and ncat directly, curl and h2load through a TCP bridge.</summary>
[Trait("Category", "Vsock")]
public sealed class ExternalClientTests
{
    private static Task<VsockServer> StartAsync(HttpProtocols protocols = HttpProtocols.Http1) => VsockServer.StartAsync(
        app => app.MapGet("/who", (HttpContext c) => $"cid={c.GetVmciConnection()!.PeerCid} {c.Request.Protocol} {c.Request.Path}{c.Request.QueryString}"),
        listen: l => l.Protocols = protocols);

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Socat_VsockConnect_RawHttp11()
    {
        await using VsockServer server = await StartAsync();

        var (exit, stdout, stderr) = await SocatAsync(server, "GET /who HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n");

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", stdout, StringComparison.Ordinal);
        Assert.Contains("cid=1 HTTP/1.1 /who", stdout, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Socat_PipelinedRequests_AreAnsweredInOrder()
    {
        await using VsockServer server = await StartAsync();

        var (exit, stdout, stderr) = await SocatAsync(server,
            "GET /who?n=1 HTTP/1.1\r\nHost: vm\r\n\r\nGET /who?n=2 HTTP/1.1\r\nHost: vm\r\n\r\nGET /who?n=3 HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n");

        Assert.True(exit == 0, stderr);
        Assert.Equal(3, Regex.Count(stdout, "HTTP/1.1 200 OK"));
        int[] order = Regex.Matches(stdout, @"/who\?n=(\d)").Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal([1, 2, 3], order);
    }

    /// <summary>
    /// socat with stdin as the request. shut-none keeps our sending side open after stdin ends: Kestrel,
    /// as on TCP, drops the response to a client that half-closed right after its request.
    /// </summary>
    private static Task<(int ExitCode, string Stdout, string Stderr)> SocatAsync(VsockServer server, string request)
    {
        string socat = ExternalProcess.Require("socat", "socat");
        VsockGuard.EnsureMayConnect(server.Target);
        return ExternalProcess.RunAsync(socat, ["-t", "30", "-", $"VSOCK-CONNECT:{server.Target.Cid}:{server.Target.Port},shut-none"], stdin: request);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Ncat_Vsock_RawHttp11()
    {
        string ncat = ExternalProcess.Require("ncat", "ncat");
        await using VsockServer server = await StartAsync();
        VsockGuard.EnsureMayConnect(server.Target);

        var (exit, stdout, stderr) = await ExternalProcess.RunAsync(ncat,
            ["--vsock", "--no-shutdown", server.Target.Cid.ToString(System.Globalization.CultureInfo.InvariantCulture), server.Target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            stdin: "GET /who HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n");

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", stdout, StringComparison.Ordinal);
        Assert.Contains("cid=1 HTTP/1.1 /who", stdout, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Curl_ThroughASocatBridge_Http11AndH2c()
    {
        string curl = ExternalProcess.Require("curl", "curl");
        await using VsockServer http1 = await StartAsync();
        await using VsockServer http2 = await StartAsync(HttpProtocols.Http2);
        using SocatBridge bridge1 = await SocatBridge.StartAsync(http1.Target);
        using SocatBridge bridge2 = await SocatBridge.StartAsync(http2.Target);

        var one = await ExternalProcess.RunAsync(curl, ["-sS", "--fail", $"http://127.0.0.1:{bridge1.Port}/who?via=curl"]);
        var two = await ExternalProcess.RunAsync(curl, ["-sS", "--fail", "--http2-prior-knowledge", $"http://127.0.0.1:{bridge2.Port}/who?via=curl"]);

        Assert.True(one.ExitCode == 0, one.Stderr);
        Assert.Equal("cid=1 HTTP/1.1 /who?via=curl", one.Stdout);
        Assert.True(two.ExitCode == 0, two.Stderr);
        Assert.Equal("cid=1 HTTP/2 /who?via=curl", two.Stdout);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task H2load_ThroughASocatBridge_AllRequestsSucceed()
    {
        string h2load = ExternalProcess.Require("h2load", "nghttp2-client");
        await using VsockServer server = await StartAsync(HttpProtocols.Http2);
        using SocatBridge bridge = await SocatBridge.StartAsync(server.Target);

        var (exit, stdout, stderr) = await ExternalProcess.RunAsync(h2load, ["-n", "400", "-c", "4", "-m", "10", $"http://127.0.0.1:{bridge.Port}/who"], timeout: TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, stderr + stdout);
        Assert.Contains("400 succeeded, 0 failed, 0 errored", stdout, StringComparison.Ordinal);
        Assert.Contains("status codes: 400 2xx", stdout, StringComparison.Ordinal);
    }
}

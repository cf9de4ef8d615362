using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>The vmci command, run as its own process against real servers over vsock.</summary>
[Trait("Category", "Vsock")]
public sealed class VmciToolTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<VsockServer> StartEchoAsync(HttpProtocols protocols = HttpProtocols.Http1) => VsockServer.StartAsync(
        app =>
        {
            app.Map("/echo", async (HttpContext c) =>
            {
                byte[] body = await ReadAllAsync(c.Request.Body);
                return $"{c.Request.Method} {c.Request.Protocol} x-test={c.Request.Headers["X-Test"]} cid={c.GetVmciConnection()!.PeerCid} length={body.Length} sha={Convert.ToHexString(SHA256.HashData(body))[..16]}";
            });
            app.MapGet("/bytes/{n:int}", (int n) => Results.Bytes(Bytes(n), "application/octet-stream"));
        },
        listen: l => l.Protocols = protocols,
        port: VsockServer.UrlSafePort());

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Cid_PrintsTheLocalCid()
    {
        var (exit, stdout, stderr) = await RunAsync(["cid"]);

        Assert.True(exit == 0, stderr);
        Assert.Equal(VmciSockets.GetLocalCid().ToString(System.Globalization.CultureInfo.InvariantCulture), stdout.Trim());
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_Verbose_ShowsRequestAndResponseHeaders()
    {
        await using VsockServer server = await StartEchoAsync();

        var (exit, stdout, stderr) = await RunAsync(["get", "-v", $"vsock://1:{server.Target.Port}/echo"]);

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("GET HTTP/1.1 x-test= cid=1 length=0", stdout, StringComparison.Ordinal);
        Assert.Contains($"* connecting to vsock://1:{server.Target.Port} over vsock", stderr, StringComparison.Ordinal);
        Assert.Contains("> GET /echo HTTP/1.1", stderr, StringComparison.Ordinal);
        Assert.Contains("< HTTP/1.1 200 OK", stderr, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_PostsABodyFromAFileOrStdin_WithHeaders()
    {
        await using VsockServer server = await StartEchoAsync();
        string file = Path.GetTempFileName();
        byte[] data = Bytes(100_000);
        await File.WriteAllBytesAsync(file, data, Ct);
        string sha = Convert.ToHexString(SHA256.HashData(data))[..16];

        var fromFile = await RunAsync(["get", "-X", "PUT", "-H", "X-Test: one", "-d", $"@{file}", $"vsock://1:{server.Target.Port}/echo"]);
        var fromStdin = await RunAsync(["get", "-d", "@-", $"vsock://1:{server.Target.Port}/echo"], stdin: "hello");
        File.Delete(file);

        Assert.Equal($"PUT HTTP/1.1 x-test=one cid=1 length=100000 sha={sha}", fromFile.Stdout);
        Assert.StartsWith("POST HTTP/1.1 x-test= cid=1 length=5 ", fromStdin.Stdout, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_Http2_UsesPriorKnowledge()
    {
        await using VsockServer server = await StartEchoAsync(HttpProtocols.Http2);

        var (exit, stdout, stderr) = await RunAsync(["get", "--http2", $"vsock://1:{server.Target.Port}/echo"]);

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("GET HTTP/2 ", stdout, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_Output_WritesTheFile_WithAProgressBar()
    {
        await using VsockServer server = await StartEchoAsync();
        string file = Path.Combine(Path.GetTempPath(), $"vmci-get-{Guid.NewGuid():N}");

        var (exit, stdout, stderr) = await RunAsync(["get", "--progress", "-o", file, $"vsock://1:{server.Target.Port}/bytes/5000000"]);

        try
        {
            Assert.True(exit == 0, stderr);
            Assert.Equal("", stdout);
            Assert.Equal(SHA256.HashData(Bytes(5_000_000)), SHA256.HashData(await File.ReadAllBytesAsync(file, Ct)));
            Assert.Contains("100.0% 4.8/4.8 MiB", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Get_Failures_HaveDistinctExitCodesAndSayWhy()
    {
        await using VsockServer server = await StartEchoAsync();
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();

        var refused = await RunAsync(["get", $"vsock://1:{closed.Port}/"]);
        var notFound = await RunAsync(["get", $"vsock://1:{server.Target.Port}/missing"]);
        var badUrl = await RunAsync(["get", "http://example.com/"]);

        Assert.Equal(7, refused.ExitCode);
        Assert.Contains($"nothing listens on port {closed.Port} at CID 1", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(22, notFound.ExitCode);
        Assert.Contains("answered 404 Not Found", notFound.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badUrl.ExitCode);
        Assert.Contains("is not a vsock URL: expected vsock://CID:PORT/path", badUrl.Stderr, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_CarriesTcpClientsToTheVsockServer()
    {
        await using VsockServer server = await StartEchoAsync();
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{server.Target.Port}"]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        string echo = await client.GetStringAsync("/echo", Ct);
        using var post = new ByteArrayContent(Bytes(3_000_000));
        string posted = await (await client.PostAsync("/echo", post, Ct)).Content.ReadAsStringAsync(Ct);

        Assert.StartsWith("GET HTTP/1.1 x-test= cid=1 length=0", echo, StringComparison.Ordinal);
        Assert.Equal($"POST HTTP/1.1 x-test= cid=1 length=3000000 sha={Convert.ToHexString(SHA256.HashData(Bytes(3_000_000)))[..16]}", posted);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_DeliversTheServersAnswer_ToAnUploadItCutShort()
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapPost("/", async (HttpRequest request) => (await ReadAllAsync(request.Body)).Length),
            configure: b => b.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1000));
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{server.Target.Port}"]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using HttpResponseMessage response = await client.PostAsync("/", new ByteArrayContent(Bytes(5_000_000)), Ct);

        Assert.Equal(413, (int)response.StatusCode);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_RefusesClientsThatAreNotAllowed()
    {
        await using VsockServer server = await StartEchoAsync();
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{server.Target.Port}", "--allow", "192.0.2.1"]);
        await forward.WaitForLineAsync("vmci forward: listening on");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("/echo", Ct));
        await forward.WaitForLineAsync("refused 127.0.0.1");
    }

    [VsockFact(VsockNeeds.Sandbox)]
    public async Task Gateway_RoutesPerGuest_AndExplainsUnknownAndUnreachableCids()
    {
        await using VsockServer server = await StartEchoAsync();
        int port = ExternalProcess.FreeTcpPort();
        // CID 1 is this VM; CID 3 has no transport in the sandbox, so it fails at once with ENODEV.
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", "1,3", "--guest-port", server.Target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 1, 3");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = HangGuard };

        string routed = await client.GetStringAsync("/vm/1/echo", Ct);
        using HttpResponseMessage redirect = await client.GetAsync("/vm/1", Ct);
        using HttpResponseMessage unreachable = await client.GetAsync("/vm/3/echo", Ct);
        using HttpResponseMessage unknown = await client.GetAsync("/vm/9/echo", Ct);
        string index = await client.GetStringAsync("/", Ct);
        string guests = await client.GetStringAsync("/api/guests", Ct);

        Assert.StartsWith("GET HTTP/1.1 x-test= cid=1 length=0", routed, StringComparison.Ordinal);
        Assert.Equal(302, (int)redirect.StatusCode);
        Assert.Equal("/vm/1/", redirect.Headers.Location?.OriginalString);
        Assert.Equal(502, (int)unreachable.StatusCode);
        Assert.Contains("CID 3 did not answer", await unreachable.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("no vsock transport reaches CID 3", await unreachable.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Contains("CID 9 is not a guest of this gateway", await unknown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("href=\"/vm/3/\"", index, StringComparison.Ordinal);
        Assert.Contains("\"cid\":1,\"reachable\":true", guests, StringComparison.Ordinal);
        Assert.Contains("\"cid\":3,\"reachable\":false", guests, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_DescribesEveryCommand()
    {
        var (exit, stdout, _) = await RunAsync(["--help"]);

        Assert.Equal(0, exit);
        foreach (string command in new[] { "cid", "get <url>", "forward", "gateway" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BadArguments_AreUsageErrors()
    {
        var noTarget = await RunAsync(["forward"]);
        var badListen = await RunAsync(["forward", "--listen", "localhost", "--to", "vsock://3:80"]);
        var badGuests = await RunAsync(["gateway", "--guests", "3,x"]);

        Assert.NotEqual(0, noTarget.ExitCode);
        Assert.Contains("--to", noTarget.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badListen.ExitCode);
        Assert.Contains("--listen 'localhost' is not IP:PORT", badListen.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badGuests.ExitCode);
        Assert.Contains("--guests 'x' is not a CID", badGuests.Stderr, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, string? stdin = null)
        => ExternalProcess.RunAsync("dotnet", [ToolProcess.ToolPath, .. args], stdin, HangGuard);

    private static byte[] Bytes(int n)
    {
        byte[] bytes = new byte[n];
        new Random(n).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadAllAsync(Stream body)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy);
        return copy.ToArray();
    }
}

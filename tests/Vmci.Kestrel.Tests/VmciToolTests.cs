using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
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

    private static Task<VsockServer> StartEchoAsync(HttpProtocols protocols = HttpProtocols.Http1, uint? port = null) => VsockServer.StartAsync(
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
        port: port ?? VsockServer.UrlSafePort());

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Cid_PrintsTheLocalCid()
    {
        var (exit, stdout, stderr) = await RunAsync(["cid"]);

        Assert.True(exit == 0, stderr);
        Assert.Equal(VmciPlatform.GetLocalCid().ToString(System.Globalization.CultureInfo.InvariantCulture), stdout.Trim());
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
    public async Task Get_ConnectRetry_WaitsForAServerThatStartsLate_ThenSaysHowLongItWaited()
    {
        uint port = VsockServer.UrlSafePort();
        Task<(int ExitCode, string Stdout, string Stderr)> late = RunAsync(["get", "--connect-retry", "120", $"vsock://1:{port}/echo"]);
        // The scenario, not a synchronization: the server comes up after the tool started trying.
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        Assert.False(late.IsCompleted, late.IsCompletedSuccessfully ? late.Result.Stderr : "the tool ended before the server started");
        await using (VsockServer server = await StartEchoAsync(port: port))
        {
            var served = await late;
            Assert.True(served.ExitCode == 0, served.Stderr);
            Assert.StartsWith("GET HTTP/1.1", served.Stdout, StringComparison.Ordinal);
        }

        var gaveUp = await RunAsync(["get", "--connect-retry", "1", $"vsock://1:{port}/"]);
        Assert.Equal(28, gaveUp.ExitCode);
        Assert.Contains($"vsock://1:{port} did not accept a connection within 1 s", gaveUp.Stderr, StringComparison.Ordinal);
        Assert.Contains($"nothing listens on port {port} at CID 1", gaveUp.Stderr, StringComparison.Ordinal);
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

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_RefusesConnectionsBeyondMaxConnections_AndAcceptsAgainWhenOneCloses()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            _ = EchoEveryConnectionAsync(listener);
            int port = ExternalProcess.FreeTcpPort();
            using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{target.Port}", "--max-connections", "2"]);
            await forward.WaitForLineAsync("vmci forward: listening on");

            using Socket first = await ConnectTcpAsync(port);
            using Socket second = await ConnectTcpAsync(port);
            await AssertEchoesAsync(first, "first");
            await AssertEchoesAsync(second, "second");
            using Socket third = await ConnectTcpAsync(port);
            // Refused at once (reset, no bytes), not queued: a queued connection would wait here until HangGuard.
            string refused = await RawClient.ReceiveToEndOrResetAsync(third, Ct);
            await forward.WaitForLineAsync("vmci forward: refused 127.0.0.1:");
            first.Dispose();
            await forward.WaitForLineAsync("vmci forward: accepting connections again (1 of 2 open; 1 refused while full)");
            using Socket fourth = await ConnectTcpAsync(port);

            Assert.Equal("", refused);
            await AssertEchoesAsync(fourth, "fourth");
            await AssertEchoesAsync(second, "second again");
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_ClosesAHalfOpenConnectionAfterTheIdleTimeout_ButNotAnOpenIdleOne()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            int port = ExternalProcess.FreeTcpPort();
            using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{target.Port}", "--idle-timeout", "1"]);
            await forward.WaitForLineAsync("vmci forward: listening on");
            // A pair with both directions open, then silent.
            using Socket idleClient = await ConnectTcpAsync(port);
            using Socket idleServer = await listener.AcceptAsync(Ct);
            await SendAsync(idleClient, "hello");
            Assert.Equal("hello", await ReceiveExactlyAsync(idleServer, 5));

            // A pair whose client half-closes; the server still answers once, then neither says more nor closes.
            using Socket halfClient = await ConnectTcpAsync(port);
            using Socket halfServer = await listener.AcceptAsync(Ct);
            halfClient.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await halfServer.ReceiveAsync(new byte[1], SocketFlags.None, Ct).AsTask().WaitAsync(HangGuard, Ct));
            await SendAsync(halfServer, "late");
            Assert.Equal("late", await ReceiveExactlyAsync(halfClient, 4));
            // The forward closes it after 1 s without traffic; without the timeout this would wait until HangGuard.
            string after = await RawClient.ReceiveToEndOrResetAsync(halfClient, Ct);
            await forward.WaitForLineAsync("closing a half-open connection after 1 s without traffic (--idle-timeout)");

            Assert.Equal("", after);
            // The open pair has been silent longer than the half-open one by now, and still carries bytes both ways.
            await SendAsync(idleClient, "still");
            Assert.Equal("still", await ReceiveExactlyAsync(idleServer, 5));
            await SendAsync(idleServer, "here");
            Assert.Equal("here", await ReceiveExactlyAsync(idleClient, 4));
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Forward_ClosesAPairStuckOnAGuestThatNeverReadsTheUpload_AndFreesItsSlot()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            int port = ExternalProcess.FreeTcpPort();
            using ToolProcess forward = ToolProcess.Start(["forward", "--listen", $"127.0.0.1:{port}", "--to", $"vsock://1:{target.Port}", "--idle-timeout", "1", "--max-connections", "1"]);
            await forward.WaitForLineAsync("vmci forward: listening on");
            using Socket uploader = await ConnectTcpAsync(port);
            // The guest accepts and then never reads and never closes: both directions stay open, the upload stalls.
            using Socket guest = await listener.AcceptAsync(Ct).AsTask().WaitAsync(HangGuard, Ct);
            Task<SocketException> upload = Task.Run(async () =>
            {
                byte[] chunk = new byte[64 * 1024];
                try
                {
                    while (true)
                    {
                        await uploader.SendAsync(chunk, SocketFlags.None, Ct);
                    }
                }
                catch (SocketException ex)
                {
                    return ex;
                }
            }, Ct);

            // Without the timeout the upload would wait for the guest forever, and hold the only slot.
            await forward.WaitForLineAsync("closing a stalled connection after 1 s without progress (--idle-timeout)");
            SocketException ended = await upload.WaitAsync(HangGuard, Ct);
            using Socket next = await ConnectTcpAsync(port);
            using Socket served = await listener.AcceptAsync(Ct).AsTask().WaitAsync(HangGuard, Ct);
            await SendAsync(next, "next");

            // Reset (ECONNRESET), or EPIPE when the reset arrived between two sends: either way the upload was ended.
            Assert.Contains(ended.SocketErrorCode, new[] { SocketError.ConnectionReset, SocketError.Shutdown });
            Assert.Equal("next", await ReceiveExactlyAsync(served, 4));
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Gateway_ProbesAGuestWhoseHealthzNeverEnds_WithBoundedMemory()
    {
        long written = 0, probes = 0;
        var sent = new SentBytes();
        await using VsockServer guest = await VsockServer.StartAsync(
            app => app.MapGet("/healthz", async (HttpContext c) =>
            {
                Interlocked.Increment(ref probes);
                byte[] chunk = new byte[64 * 1024];
                try
                {
                    // Until the prober goes away. Kestrel drops writes after an abort rather than failing them, and
                    // says so (RequestAborted) later: the app's own count is no measure, the transport's is.
                    while (!c.RequestAborted.IsCancellationRequested)
                    {
                        await c.Response.Body.WriteAsync(chunk, c.RequestAborted);
                        Interlocked.Add(ref written, chunk.Length);
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                    // The prober went away.
                }
            }),
            listen: l => l.Use(sent.Middleware),
            port: VsockServer.UrlSafePort());
        int port = ExternalProcess.FreeTcpPort();
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", "1", "--guest-port", guest.Target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 1");
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = HangGuard };
        await client.GetStringAsync("/", Ct);
        // The guest's first answer (a cold server under emulation) can outlast the probe's timeout: wait until one
        // probe got through, so that the 32 calls below measure the endless body, not a cold start.
        for (int attempt = 0; attempt < 30 && !(await client.GetStringAsync("/api/guests", Ct)).Contains("\"reachable\":true", StringComparison.Ordinal); attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Ct); // a failed answer is kept for 2 s: ask again after it
        }

        long before = MemoryOf(gateway.Process, "VmRSS");

        // A page that asks for the guests' state in a loop, four at a time.
        string[][] answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            var seen = new List<string>();
            for (int i = 0; i < 8; i++)
            {
                seen.Add(await client.GetStringAsync("/api/guests", Ct));
            }

            return seen.ToArray();
        }));
        long peak = MemoryOf(gateway.Process, "VmHWM");
        string index = await client.GetStringAsync("/", Ct);

        Assert.All(answers.SelectMany(a => a), answer => Assert.Contains("\"guest\":\"cid-1\",\"cid\":1,\"reachable\":true,\"detail\":\"/healthz answered 200 OK\"", answer, StringComparison.Ordinal));
        Assert.Contains("href=\"http://cid-1.localhost:", index, StringComparison.Ordinal);
        long onTheWire = sent.Total, probed = Interlocked.Read(ref probes);
        string measured = $"the guest's transport was handed {onTheWire >> 10} KiB in {probed} probes (its app wrote {Interlocked.Read(ref written) >> 10} KiB, most of it dropped after the abort); the gateway's resident memory grew from {before >> 10} KiB to a peak of {peak >> 10} KiB";
        TestContext.Current.TestOutputHelper?.WriteLine(measured);
        // What a probe lets the guest write is bounded by the vsock window (4 MiB by default) plus Kestrel's output
        // pipe, not by the body: how many probes run depends on how slowly the 32 calls go (answers are cached 2 s).
        Assert.InRange(probed, 1, 32);
        Assert.True(onTheWire < probed * (8L << 20), $"{measured}: the gateway read far more than headers");
        Assert.True(peak - before < 64L << 20, measured);
    }

    [VsockFact(VsockNeeds.Sandbox)]
    public async Task Gateway_RoutesEachGuestOnItsOwnOrigin_AndExplainsUnknownAndUnreachableGuests()
    {
        await using VsockServer server = await StartEchoAsync();
        await using VsockServer other = await VsockServer.StartAsync(app => app.MapGet("/echo", (HttpContext c) => $"other host={c.Request.Host}"));
        int port = ExternalProcess.FreeTcpPort();
        // CID 1 is this VM; CID 3 has no transport in the sandbox, so it fails at once with ENODEV.
        using ToolProcess gateway = ToolProcess.Start(["gateway", "--listen", $"127.0.0.1:{port}", "--guests", "1,3", "--guest-port", server.Target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--guest", $"other=vsock://1:{other.Target.Port}"]);
        await gateway.WaitForLineAsync("vmci gateway: serving guests 1, 3, other (vsock://1:");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = HangGuard };

        string routed = await (await GatewayRoutingTests.GetAsync(client, "/echo", $"cid-1.localhost:{port}")).Content.ReadAsStringAsync(Ct);
        string named = await (await GatewayRoutingTests.GetAsync(client, "/echo", $"other.localhost:{port}")).Content.ReadAsStringAsync(Ct);
        using HttpResponseMessage redirect = await GatewayRoutingTests.GetAsync(client, "/vm/1/echo?x=1", $"127.0.0.1:{port}");
        using HttpResponseMessage onGatewayOrigin = await GatewayRoutingTests.GetAsync(client, "/echo", $"127.0.0.1:{port}");
        using HttpResponseMessage unreachable = await GatewayRoutingTests.GetAsync(client, "/echo", $"cid-3.localhost:{port}");
        using HttpResponseMessage unknown = await GatewayRoutingTests.GetAsync(client, "/echo", $"cid-9.localhost:{port}");
        using HttpResponseMessage rebound = await GatewayRoutingTests.GetAsync(client, "/echo", $"cid-1.evil.example:{port}");
        string guests = await client.GetStringAsync("/api/guests", Ct);

        Assert.StartsWith("GET HTTP/1.1 x-test= cid=1 length=0", routed, StringComparison.Ordinal);
        Assert.Equal($"other host=other.localhost:{port}", named);
        Assert.Equal(307, (int)redirect.StatusCode);
        Assert.Equal($"http://cid-1.localhost:{port}/echo?x=1", redirect.Headers.Location?.OriginalString);
        Assert.Equal(404, (int)onGatewayOrigin.StatusCode);
        Assert.Equal(502, (int)unreachable.StatusCode);
        Assert.Contains("CID 3 did not answer", await unreachable.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("no vsock transport reaches CID 3", await unreachable.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains($"href=\"http://localhost:{port}/\"", await unreachable.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Contains("cid-9.localhost is not a guest of this gateway", await unknown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(421, (int)rebound.StatusCode);
        Assert.Contains("\"guest\":\"cid-1\",\"cid\":1,\"reachable\":true", guests, StringComparison.Ordinal);
        Assert.Contains("\"guest\":\"cid-3\",\"cid\":3,\"reachable\":false", guests, StringComparison.Ordinal);
        Assert.Contains("\"guest\":\"other\",\"cid\":1,\"reachable\":true", guests, StringComparison.Ordinal);
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
        var noGuests = await RunAsync(["gateway"]);
        var badLimit = await RunAsync(["forward", "--to", "vsock://3:80", "--max-connections", "0"]);

        Assert.NotEqual(0, noTarget.ExitCode);
        Assert.Contains("--to", noTarget.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badListen.ExitCode);
        Assert.Contains("--listen 'localhost' is not IP:PORT", badListen.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badGuests.ExitCode);
        Assert.Contains("--guests 'x' is not a CID", badGuests.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, noGuests.ExitCode);
        Assert.Contains("no guests: give --guests 3,4,5 or --guest NAME=vsock://CID:PORT", noGuests.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, badLimit.ExitCode);
        Assert.Contains("--max-connections 0 must be at least 1", badLimit.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A line of /proc/PID/status in bytes (VmRSS: resident now; VmHWM: the peak resident size so far).</summary>
    private static long MemoryOf(Process process, string field)
    {
        string line = File.ReadLines($"/proc/{process.Id}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args, string? stdin = null)
        => ExternalProcess.RunAsync("dotnet", [ToolProcess.ToolPath, .. args], stdin, HangGuard);

    private static async Task<Socket> ConnectTcpAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), Ct);
        return socket;
    }

    private static async Task SendAsync(Socket socket, string text) => await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, Ct);

    private static async Task<string> ReceiveExactlyAsync(Socket socket, int count)
    {
        byte[] buffer = new byte[count];
        int read = 0, n;
        while (read < count && (n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, Ct).AsTask().WaitAsync(HangGuard, Ct)) > 0)
        {
            read += n;
        }

        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    private static async Task AssertEchoesAsync(Socket socket, string text)
    {
        await SendAsync(socket, text);
        Assert.Equal(text, await ReceiveExactlyAsync(socket, text.Length));
    }

    /// <summary>A raw vsock echo server: each connection gets its bytes back and is closed when its client ends.</summary>
    private static async Task EchoEveryConnectionAsync(Socket listener)
    {
        try
        {
            while (true)
            {
                Socket connection = await listener.AcceptAsync(Ct);
                _ = Task.Run(async () =>
                {
                    using (connection)
                    {
                        byte[] buffer = new byte[4096];
                        try
                        {
                            int n;
                            while ((n = await connection.ReceiveAsync(buffer, SocketFlags.None, Ct)) > 0)
                            {
                                await connection.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, Ct);
                            }
                        }
                        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                        {
                        }
                    }
                }, Ct);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The test is over and disposed the listener.
        }
    }

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

using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

[Trait("Category", "Vsock")]
public sealed class HttpOverVsockTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Http11_Get_ReachesTheApp_WhichSeesThePeerCid()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/who", (HttpContext context) =>
        {
            IVmciConnectionFeature vsock = context.GetVmciConnection()!;
            return $"{vsock.PeerCid} {vsock.LocalEndPoint} {context.Connection.RemoteIpAddress?.ToString() ?? "no-ip"} {context.Request.Protocol}";
        }));
        using HttpClient client = server.CreateClient();

        string body = await client.GetStringAsync("/who", Ct);

        Assert.Equal($"1 vsock://1:{server.Target.Port} no-ip HTTP/1.1", body);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectionMiddleware_SeesVmciEndPointsOnTheConnectionContext()
    {
        Microsoft.AspNetCore.Connections.ConnectionContext? seen = null;
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext context) => context.GetVmciConnection()!.IsPeerPortPrivileged ? "privileged" : "unprivileged"),
            listen: l => l.Use(next => connection =>
            {
                seen = connection;
                return next(connection);
            }));
        using HttpClient client = server.CreateClient();

        Assert.Equal("unprivileged", await client.GetStringAsync("/", Ct));
        Assert.NotNull(seen);
        var remote = Assert.IsType<VmciEndPoint>(seen.RemoteEndPoint);
        Assert.Equal(VmciCid.Local, remote.Cid);
        Assert.Equal(server.Target, seen.LocalEndPoint);
        Assert.Equal(remote, seen.Features.Get<IVmciConnectionFeature>()!.RemoteEndPoint);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task PortAny_TheRealPortIsInServerAddresses()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => { });

        string address = Assert.Single(server.Addresses);
        Assert.Equal($"http://vsock://any:{server.Target.Port}", address);
        Assert.NotEqual(VmciPort.Any, server.Target.Port);
        Assert.Contains(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 1 && e.Message.Contains($"vsock://any:{server.Target.Port}", StringComparison.Ordinal));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task TcpAndVsock_InOneApp_BothServe()
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext context) => context.GetVmciConnection() is null ? "tcp" : "vsock"),
            configure: builder => builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0)));
        string tcpAddress = server.Addresses.Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        using HttpClient vsockClient = server.CreateClient();
        using var tcpClient = new HttpClient { BaseAddress = new Uri(tcpAddress) };

        Assert.Equal("vsock", await vsockClient.GetStringAsync("/", Ct));
        Assert.Equal("tcp", await tcpClient.GetStringAsync("/", Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Http2_PriorKnowledge_MultiplexesOnOneConnection()
    {
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        int arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/slow", async (HttpContext context) =>
            {
                connections.AddOrUpdate(context.Connection.Id, 1, (_, n) => n + 1);
                // No request answers before all 20 are in: they are in flight together, not one after another.
                if (Interlocked.Increment(ref arrived) == 20)
                {
                    allArrived.SetResult();
                }

                await allArrived.Task.WaitAsync(context.RequestAborted);
                return context.Request.Protocol;
            }),
            listen: l => l.Protocols = HttpProtocols.Http2);
        using HttpClient client = server.CreateClient(HttpVersion.Version20);

        string[] protocols = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetStringAsync("/slow", Ct)));

        Assert.All(protocols, p => Assert.Equal("HTTP/2", p));
        Assert.Equal(20, connections.Values.Sum());
        Assert.Single(connections);
    }

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData(10 * 1024 * 1024)]
    [InlineData(1)]
    [InlineData(0)]
    public async Task LargeUploadAndDownload_ArriveWhole(int size)
    {
        byte[] data = RandomNumberGenerator.GetBytes(size);
        await using VsockServer server = await VsockServer.StartAsync(app =>
        {
            MapHashingUpload(app);
            app.MapGet("/download", () => Results.Bytes(data, "application/octet-stream"));
        });
        using HttpClient client = server.CreateClient();

        using HttpResponseMessage upload = await client.PostAsync("/upload", new ByteArrayContent(data), Ct);
        byte[] downloaded = await client.GetByteArrayAsync("/download", Ct);

        Assert.Equal($"{size} {Convert.ToHexString(SHA256.HashData(data))}", await upload.Content.ReadAsStringAsync(Ct));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(downloaded));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task KeepAlive_SequentialRequestsShareOneConnection()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", (HttpContext c) => c.Connection.Id));
        using HttpClient client = server.CreateClient();

        string[] ids = [await client.GetStringAsync("/", Ct), await client.GetStringAsync("/", Ct), await client.GetStringAsync("/", Ct)];

        Assert.Single(ids.Distinct());
    }

    /// <summary>1 GiB each way; explicit (VMCI_LONG_TESTS=1 eng/test runs it) because it takes minutes under TCG.</summary>
    [VsockFact(VsockNeeds.Loopback, Explicit = true)]
    public async Task OneGibibyte_UploadAndDownload_ArriveWhole()
    {
        const long Size = 1L << 30;
        await using VsockServer server = await VsockServer.StartAsync(app =>
        {
            MapHashingUpload(app);
            app.MapGet("/download", async (HttpContext context) =>
            {
                context.Response.ContentLength = Size;
                await DeterministicBytes.WriteAsync(context.Response.Body, Size, context.RequestAborted);
            });
        }, configure: b => b.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null));
        using HttpClient client = server.CreateClient();

        using var upload = new StreamContent(new DeterministicBytes.Stream(Size));
        using HttpResponseMessage uploaded = await client.PostAsync("/upload", upload, Ct);
        using HttpResponseMessage download = await client.GetAsync("/download", HttpCompletionOption.ResponseHeadersRead, Ct);
        byte[] downloadHash = await SHA256.HashDataAsync(await download.Content.ReadAsStreamAsync(Ct), Ct);

        byte[] expected = await SHA256.HashDataAsync(new DeterministicBytes.Stream(Size), Ct);
        Assert.Equal($"{Size} {Convert.ToHexString(expected)}", await uploaded.Content.ReadAsStringAsync(Ct));
        Assert.Equal(expected, downloadHash);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task TwoHundredConcurrentKeepAliveClients_AllServed()
    {
        const int Clients = 200;
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/n/{n:int}", (int n) => n * 2));
        using HttpClient client = server.CreateClient();

        int[] results = await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            int sum = 0;
            for (int r = 0; r < 3; r++)
            {
                sum += int.Parse(await client.GetStringAsync($"/n/{i}", Ct), System.Globalization.CultureInfo.InvariantCulture);
            }

            return sum;
        }));

        Assert.Equal(Enumerable.Range(0, Clients).Select(i => i * 6), results);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task AllowedPeerCids_WithoutTheCaller_ClosesBeforeReadingAndLogs()
    {
        int handled = 0;
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => Interlocked.Increment(ref handled)),
            transport: t => t.AllowedPeerCids.Add(VmciCid.Host));
        using HttpClient client = server.CreateClient();

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("/", Ct));

        // The server closed the connection unread: the client sees its write refused or its read end, by timing.
        Assert.Equal(0, handled);
        Assert.True(ex.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.Unknown, ex.ToString());
        // HttpClient may retry once on a fresh connection; every attempt is refused and logged.
        LogEntry[] rejected = server.Logs.Category("Vmci.Kestrel").Where(e => e.EventId.Id == 2).ToArray();
        Assert.NotEmpty(rejected);
        Assert.All(rejected, r => Assert.Equal(LogLevel.Warning, r.Level));
        Assert.All(rejected, r => Assert.Contains("CID 1 is not in AllowedPeerCids", r.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) && e.Message.Contains("accepted", StringComparison.OrdinalIgnoreCase));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task AllowedPeerCids_WithTheCaller_Serves()
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => "in"),
            transport: t => t.AllowedPeerCids.Add(VmciCid.Local));
        using HttpClient client = server.CreateClient();

        Assert.Equal("in", await client.GetStringAsync("/", Ct));
    }

    /// <summary>POST /upload answers "LENGTH SHA256" of the body it read.</summary>
    private static void MapHashingUpload(WebApplication app) => app.MapPost("/upload", async (HttpRequest request) =>
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await request.Body.ReadAsync(buffer, request.HttpContext.RequestAborted)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            total += n;
        }

        return $"{total} {Convert.ToHexString(sha.GetHashAndReset())}";
    });
}

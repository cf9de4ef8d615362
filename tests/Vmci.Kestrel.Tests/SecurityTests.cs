using System;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Who may connect, and how many: enforced before a byte is read.</summary>
[Trait("Category", "Vsock")]
public sealed class SecurityTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task MaxConnectionsPerPeerCid_ClosesTheConnectionOverTheLimit_UntilOneEnds()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "ok"), transport: t => t.MaxConnectionsPerPeerCid = 2);
        using RawClient first = await ServedAsync(server);
        using RawClient second = await ServedAsync(server);

        using (RawClient third = await RawClient.ConnectAsync(server.Target, Ct))
        {
            await SendIgnoringRefusalAsync(third);
            Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(third.Socket, Ct));
        }

        first.Dispose();
        // Once the server has seen the first connection end, a new one fits again.
        using RawClient again = await RetryUntilServedAsync(server);
        Assert.Contains(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 8 && e.Message.Contains("CID 1 already has 2 connections", StringComparison.Ordinal));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task RequirePrivilegedPeerPort_AdmitsOnlyLowPorts()
    {
        Assert.SkipUnless(VsockEnvironment.IsRoot, "a client needs CAP_NET_BIND_SERVICE to bind a port below 1024");
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => $"{c.GetVmciConnection()!.PeerPort} {c.GetVmciConnection()!.IsPeerPortPrivileged}"),
            transport: t => t.RequirePrivilegedPeerPort = true);

        using (RawClient ephemeral = await RawClient.ConnectAsync(server.Target, Ct))
        {
            await SendIgnoringRefusalAsync(ephemeral);
            Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(ephemeral.Socket, Ct));
        }

        using Socket privileged = VmciSocket.Create();
        VmciSocket.Bind(privileged, new VmciEndPoint(VmciCid.Any, 900));
        await TestSockets.ConnectAsync(privileged, server.Target, Ct);
        await privileged.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None, Ct);
        string response = await RawClient.ReceiveToEndOrResetAsync(privileged, Ct);

        Assert.EndsWith("900 True", response.TrimEnd().Split("\r\n")[^2], StringComparison.Ordinal);
        Assert.Contains(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 7 && e.Message.Contains("RequirePrivilegedPeerPort", StringComparison.Ordinal));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task KestrelMaxConcurrentConnections_AppliesOverVsock()
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => "ok"),
            configure: b => b.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = 1));
        using RawClient first = await ServedAsync(server);

        using RawClient second = await RawClient.ConnectAsync(server.Target, Ct);
        await SendIgnoringRefusalAsync(second);

        Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(second.Socket, Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task MutualTls_RequiresAClientCertificate_AndTheAppSeesIt()
    {
        using X509Certificate2 serverCertificate = ProtocolTests.SelfSignedCertificate("dashboard.vsock");
        using X509Certificate2 clientCertificate = ProtocolTests.SelfSignedCertificate("agent.cid-1", clientAuth: true);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => $"{c.Connection.ClientCertificate?.Subject} cid={c.GetVmciConnection()!.PeerCid}"),
            listen: l => l.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                // Trust exactly this client certificate (a real deployment pins its CA).
                ClientCertificateValidation = (certificate, _, _) => certificate.Thumbprint == clientCertificate.Thumbprint,
            }));
        VsockGuard.EnsureMayConnect(server.Target);

        HttpClient Client(X509Certificate2? certificate)
        {
            SocketsHttpHandler handler = VmciHttp.CreateHandler(server.Target);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == serverCertificate.Thumbprint;
            if (certificate is not null)
            {
                handler.SslOptions.ClientCertificates = [certificate];
            }

            return new HttpClient(handler);
        }

        using HttpClient withCertificate = Client(clientCertificate);
        using HttpClient without = Client(null);

        Assert.Equal("CN=agent.cid-1 cid=1", await withCertificate.GetStringAsync("https://dashboard.vsock/", Ct));
        await Assert.ThrowsAsync<HttpRequestException>(() => without.GetStringAsync("https://dashboard.vsock/", Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ALogProviderThatThrowsAfterAdmission_DoesNotLeakThePeersSlot()
    {
        // The first "Accepted" entry throws (a broken log provider); that connection is lost, its slot must not be.
        var thrower = new ThrowingLogProvider(eventId: 3, times: 1);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => "ok"),
            transport: t => t.MaxConnectionsPerPeerCid = 1,
            configure: b => b.Logging.AddProvider(thrower));

        using (RawClient lost = await RawClient.ConnectAsync(server.Target, Ct))
        {
            await SendIgnoringRefusalAsync(lost);
            Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(lost.Socket, Ct));
        }

        Assert.Equal(1, thrower.Thrown);
        Assert.Contains(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 15);
        // With the slot leaked, CID 1 would have its one connection forever and this one would be refused.
        using RawClient next = await ServedAsync(server);
        Assert.DoesNotContain(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 8);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task RefusedConnectionWarnings_AreRateLimitedPerReasonAndCid_WithTheHeldBackCount()
    {
        var clock = new ManualClock();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", () => "ok"),
            transport: t => t.AllowedPeerCids.Add(42),
            configure: b => b.Services.AddSingleton<TimeProvider>(clock));
        long counted = 0;
        using MeterListener meter = ServerMeters.Listen(server, "Vmci.Kestrel", "vmci.kestrel.rejected_connections", (v, _) => Interlocked.Add(ref counted, v));

        async Task RefusedAsync()
        {
            using RawClient refused = await RawClient.ConnectAsync(server.Target, Ct);
            // The server logs before it closes: once the client sees the end, the refusal is logged or held back.
            Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(refused.Socket, Ct));
        }

        for (int i = 0; i < 5; i++)
        {
            await RefusedAsync();
        }

        // A guest that reconnects in a loop gets one warning per interval, not one per attempt.
        LogEntry first = Assert.Single(server.Logs.Category("Vmci.Kestrel"), e => e.EventId.Id == 2);
        Assert.Contains("CID 1 is not in AllowedPeerCids", first.Message, StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromSeconds(11));
        await RefusedAsync();

        LogEntry[] warnings = [.. server.Logs.Category("Vmci.Kestrel").Where(e => e.EventId.Id == 2)];
        Assert.Equal(2, warnings.Length);
        Assert.Contains("4 more such refusals", warnings[1].Message, StringComparison.Ordinal);

        // Two warnings, and still every refusal counted (the metric is recorded before the client sees the end).
        Assert.Equal(6, Interlocked.Read(ref counted));
    }

    private static async Task<RawClient> ServedAsync(VsockServer server)
    {
        RawClient client = await RawClient.ConnectAsync(server.Target, Ct);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Ct);
        byte[] buffer = new byte[1024];
        int n = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, Ct).AsTask().WaitAsync(HangGuard, Ct);
        Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        return client;
    }

    private static async Task<RawClient> RetryUntilServedAsync(VsockServer server)
    {
        using var timeout = new CancellationTokenSource(HangGuard);
        while (true)
        {
            RawClient client = await RawClient.ConnectAsync(server.Target, Ct);
            await SendIgnoringRefusalAsync(client);
            byte[] buffer = new byte[1024];
            int n;
            try
            {
                n = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, Ct);
            }
            catch (SocketException)
            {
                n = 0;
            }

            // Served means answered: a 200, not any byte (a refusal page or a 503 would be bytes too).
            if (n > 0)
            {
                Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
                return client;
            }

            client.Dispose();
            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>The server may already have closed the connection: then the write fails, which is the point.</summary>
    private static async Task SendIgnoringRefusalAsync(RawClient client)
    {
        try
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Ct);
        }
        catch (SocketException)
        {
        }
    }
}

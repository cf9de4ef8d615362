using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

[Trait("Category", "Vsock")]
public sealed class LifecycleTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task RequestAborted_FiresWhenTheClientGivesUp()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/wait", async (HttpContext context) =>
        {
            context.RequestAborted.Register(() => aborted.TrySetResult());
            started.SetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }));
        using HttpClient client = server.CreateClient();
        using var cts = new CancellationTokenSource();

        Task request = client.GetAsync("/wait", cts.Token);
        await started.Task.WaitAsync(HangGuard, Ct);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await aborted.Task.WaitAsync(HangGuard, Ct);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectionClosed_FiresOnClientFin()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(
            app => { },
            listen: l => l.Use(next => async connection =>
            {
                connection.ConnectionClosed.Register(() => closed.TrySetResult());
                await next(connection);
            }));
        using RawClient client = await RawClient.ConnectAsync(server.Target, Ct);

        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n", Ct); // headers not finished
        client.Socket.Shutdown(SocketShutdown.Send);

        await closed.Task.WaitAsync(HangGuard, Ct);
        // Kestrel answers a request cut short by FIN with 400 when it sees the truncated headers before
        // the FIN, and says nothing when both arrive together, as on TCP; either way it closes.
        string response = await client.ReceiveToEndAsync(Ct).WaitAsync(HangGuard, Ct);
        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 400 Bad Request\r\n", StringComparison.Ordinal), response);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ServerAbort_ClosesTheConnection_AndFiresConnectionClosed()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/abort", (HttpContext context) => context.Abort()),
            listen: l => l.Use(next => async connection =>
            {
                connection.ConnectionClosed.Register(() => closed.TrySetResult());
                await next(connection);
            }));
        using RawClient client = await RawClient.ConnectAsync(server.Target, Ct);

        await client.SendAsync("GET /abort HTTP/1.1\r\nHost: x\r\n\r\n", Ct);

        // An abort sends no response: the client sees the connection end (EOF, or a reset).
        string received;
        try
        {
            received = await client.ReceiveToEndAsync(Ct).WaitAsync(HangGuard, Ct);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            received = "";
        }

        Assert.Equal("", received);
        await closed.Task.WaitAsync(HangGuard, Ct);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task NoDataLost_WhenTheServerCompletesBeforeTheClientReads()
    {
        // Small enough to sit in the buffers (the peer's 256 KiB vsock buffer, Kestrel's 64 KiB), so the server can finish first.
        byte[] payload = RandomNumberGenerator.GetBytes(192 * 1024);
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", async (HttpContext context) =>
            {
                context.Response.ContentLength = payload.Length;
                await context.Response.Body.WriteAsync(payload, context.RequestAborted);
            }),
            // Connection middleware returns once Kestrel is done with the connection: response written, output completed.
            listen: l => l.Use(next => async connection =>
            {
                await next(connection);
                completed.TrySetResult();
            }));
        using RawClient client = await RawClient.ConnectAsync(server.Target, Ct);

        await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Ct);
        // Read nothing until the server has handed over the whole body and finished the request.
        await completed.Task.WaitAsync(HangGuard, Ct);
        using var received = new MemoryStream();
        byte[] buffer = new byte[65536];
        int n;
        while ((n = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, Ct)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        byte[] all = received.ToArray();
        int bodyStart = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(all.AsSpan(bodyStart)));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task GracefulShutdown_DrainsInFlightRequests_AndRefusesNewConnections()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[] payload = RandomNumberGenerator.GetBytes(256 * 1024);
        VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/slow", async (HttpContext context) =>
        {
            started.SetResult();
            // Answer only once the shutdown has begun: the drain must carry this request across it.
            await FaultTests.StoppingAsync(context);
            await context.Response.Body.WriteAsync(payload, CancellationToken.None);
        }));
        try
        {
            using HttpClient client = server.CreateClient();
            Task<byte[]> inFlight = client.GetByteArrayAsync("/slow", Ct);
            await started.Task.WaitAsync(HangGuard, Ct);

            Task stopping = server.App.StopAsync(CancellationToken.None);
            byte[] body = await inFlight.WaitAsync(HangGuard, Ct);
            await stopping.WaitAsync(HangGuard, Ct);

            Assert.Equal(SHA256.HashData(payload), SHA256.HashData(body));
            var refused = await Assert.ThrowsAsync<VmciSocketException>(() => TestSockets.ConnectAsync(server.Target, Ct).AsTask());
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        finally
        {
            await server.App.DisposeAsync();
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ClientsThatLeaveBeforeOrBetweenRequests_AreLoggedAtDebugOnly()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "ok"));

        using (await RawClient.ConnectAsync(server.Target, Ct))
        {
            // Before any request: connect and leave.
        }

        using (RawClient between = await RawClient.ConnectAsync(server.Target, Ct))
        {
            await between.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Ct);
            byte[] buffer = new byte[4096];
            Assert.True(await between.Socket.ReceiveAsync(buffer, SocketFlags.None, Ct) > 0);
        }

        // Let the server notice both departures.
        await WaitUntilAsync(() => server.Logs.Entries.Count(e => e.EventId.Name == "ConnectionStop" || e.Message.Contains("stopped", StringComparison.Ordinal)) >= 2);
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Warning);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task KestrelLimits_ApplyOverVsock()
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapPost("/", async (HttpRequest request) => (await new StreamReader(request.Body).ReadToEndAsync()).Length),
            configure: b => b.WebHost.ConfigureKestrel(k =>
            {
                k.Limits.MaxRequestBodySize = 1000;
                k.Limits.MaxRequestHeadersTotalSize = 4096;
                k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(2);
            }));
        using HttpClient client = server.CreateClient();

        using HttpResponseMessage small = await client.PostAsync("/", new StringContent(new string('a', 1000)), Ct);
        using HttpResponseMessage large = await client.PostAsync("/", new StringContent(new string('a', 1001)), Ct);
        using var hugeHeaders = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent("x") };
        hugeHeaders.Headers.Add("X-Big", new string('h', 5000));
        using HttpResponseMessage headers = await client.SendAsync(hugeHeaders, Ct);
        using RawClient slow = await RawClient.ConnectAsync(server.Target, Ct);
        await slow.SendAsync("POST / HTTP/1.1\r\nHost: x\r\n", Ct); // and then nothing
        string timedOut = await slow.ReceiveToEndAsync(Ct).WaitAsync(HangGuard, Ct);

        Assert.Equal(200, (int)small.StatusCode);
        Assert.Equal(413, (int)large.StatusCode);
        Assert.Equal(431, (int)headers.StatusCode);
        Assert.StartsWith("HTTP/1.1 408 Request Timeout", timedOut, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(HangGuard);
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Kestrel.Internal;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Overload, slow peers and a soak: the server keeps serving and keeps nothing it should not.</summary>
[Trait("Category", "Vsock")]
[Collection(nameof(ResourceTests))]
public sealed class FaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task BacklogOverflow_RefusesClearly_ThenTheServerAcceptsAgain()
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "ok"), transport: t => t.Backlog = 1);
        HashSet<string> before = FileDescriptors.Snapshot();
        var outcomes = new ConcurrentBag<string>();

        // 300 connects at once against a backlog of 1: vsock resets the ones that find the queue full.
        await Task.WhenAll(Enumerable.Range(0, 300).Select(async _ =>
        {
            try
            {
                using Socket socket = await TestSockets.ConnectAsync(server.Target, Ct);
                outcomes.Add("connected");
            }
            catch (VmciSocketException ex)
            {
                outcomes.Add(ex.SocketErrorCode.ToString());
                Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
                Assert.Contains($"nothing listens on port {server.Target.Port} at CID 1", ex.Message, StringComparison.Ordinal);
            }
        }));

        // Whether some of the 300 find the queue full depends on how fast the accept loop runs; that
        // refusals are clear is checked above and, deterministically, by the listener-level test below.
        Assert.Contains("connected", outcomes);
        using HttpClient client = server.CreateClient();
        Assert.Equal("ok", await client.GetStringAsync("/", Ct));
        client.Dispose();
        await WaitForAsync(() => FileDescriptors.OpenedSince(before).Count == 0);
        Assert.Empty(FileDescriptors.OpenedSince(before));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task FullBacklog_RefusesTheNextConnect_ThenAcceptsAgainOnceDrained()
    {
        // The listener alone, so that nothing accepts until the test says so: the queue fills for certain.
        var factory = new VmciConnectionListenerFactory(
            Microsoft.Extensions.Options.Options.Create(new VmciTransportOptions { Backlog = 1 }),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var listener = await factory.BindAsync(new VmciEndPoint(VmciCid.Any, VmciPort.Any), Ct);
        var target = new VmciEndPoint(VmciCid.Local, ((VmciEndPoint)listener.EndPoint).Port);
        var queued = new System.Collections.Generic.List<Socket>();
        try
        {
            // Connect until the kernel refuses: with a backlog of 1 that happens within a few connects.
            VmciSocketException? refused = null;
            for (int i = 0; i < 16 && refused is null; i++)
            {
                try
                {
                    queued.Add(await TestSockets.ConnectAsync(target, Ct));
                }
                catch (VmciSocketException ex)
                {
                    refused = ex;
                }
            }

            Assert.NotNull(refused);
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            Assert.Contains($"nothing listens on port {target.Port} at CID 1", refused.Message, StringComparison.Ordinal);
            Assert.InRange(queued.Count, 1, 4);

            // Accepting drains the queue; then a new connect gets through and is accepted too.
            for (int i = 0; i < queued.Count; i++)
            {
                await using Microsoft.AspNetCore.Connections.ConnectionContext? drained = await listener.AcceptAsync(Ct);
                Assert.NotNull(drained);
            }

            using Socket again = await TestSockets.ConnectAsync(target, Ct);
            await using Microsoft.AspNetCore.Connections.ConnectionContext? accepted = await listener.AcceptAsync(Ct);
            Assert.NotNull(accepted);
        }
        finally
        {
            queued.ForEach(s => s.Dispose());
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task SlowSender_BelowTheMinimumDataRate_IsCutOff()
    {
        var seen = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapPost("/", async (HttpRequest request) =>
            {
                try
                {
                    return (await new System.IO.StreamReader(request.Body).ReadToEndAsync(request.HttpContext.RequestAborted)).Length;
                }
                catch (Exception ex)
                {
                    seen.TrySetResult(ex);
                    throw;
                }
            }),
            configure: b => b.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1000, gracePeriod: TimeSpan.FromSeconds(2))));
        using RawClient slow = await RawClient.ConnectAsync(server.Target, Ct);

        await slow.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", Ct);
        var clock = Stopwatch.StartNew();
        string response = "";
        try
        {
            // One byte a second, far below 1000 B/s.
            for (int i = 0; i < 60 && slow.Socket.Poll(0, SelectMode.SelectRead) is false; i++)
            {
                await slow.SendAsync("a", Ct);
                await Task.Delay(1000, Ct);
            }

            response = await slow.ReceiveToEndAsync(Ct);
        }
        catch (SocketException)
        {
            // Cut off while sending: also a cut-off.
        }

        // Kestrel's outcome for a body below the minimum rate: the read fails with its 408 bad-request error,
        // and the client gets a 408 (unless it was cut off while still sending its next byte).
        var error = Assert.IsAssignableFrom<Microsoft.AspNetCore.Http.BadHttpRequestException>(await seen.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct));
        Assert.Equal(StatusCodes.Status408RequestTimeout, error.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), $"not cut off after {clock.Elapsed}");
        Assert.True(response.Length == 0 || response.StartsWith("HTTP/1.1 408 Request Timeout", StringComparison.Ordinal), response);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HalfCloseAfterTheRequest_IsTreatedAsOnTcp()
    {
        // What the app saw on each transport: the request arrived, then the FIN aborted it. The clients' bytes alone
        // cannot tell that from a server that never got the request, since an aborted response is empty too.
        var outcomes = new ConcurrentDictionary<string, TaskCompletionSource<string>>();
        TaskCompletionSource<string> Outcome(string transport) => outcomes.GetOrAdd(transport, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", async (HttpContext c) =>
            {
                TaskCompletionSource<string> outcome = Outcome(c.Connection.RemoteIpAddress is null ? "vsock" : "tcp");
                var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (c.RequestAborted.Register(() => aborted.TrySetResult()))
                {
                    // Kestrel takes the FIN as the client leaving and aborts the request; the guard only bounds a hang.
                    outcome.TrySetResult(await Task.WhenAny(aborted.Task, Task.Delay(TimeSpan.FromMinutes(1), Ct)) == aborted.Task ? "aborted" : "not aborted within a minute");
                }

                return "ok";
            }),
            configure: b => b.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0)));
        string tcp = server.Addresses.Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        var tcpEndPoint = System.Net.IPEndPoint.Parse(tcp["http://".Length..]);

        using RawClient vsock = await RawClient.ConnectAsync(server.Target, Ct);
        using var tcpSocket = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await tcpSocket.ConnectAsync(tcpEndPoint, Ct);
        byte[] request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        await vsock.Socket.SendAsync(request, SocketFlags.None, Ct);
        await tcpSocket.SendAsync(request, SocketFlags.None, Ct);
        vsock.Socket.Shutdown(SocketShutdown.Send);
        tcpSocket.Shutdown(SocketShutdown.Send);

        string overVsock = await RawClient.ReceiveToEndOrResetAsync(vsock.Socket, Ct);
        string overTcp = await RawClient.ReceiveToEndOrResetAsync(tcpSocket, Ct);

        Assert.Equal("aborted", await Outcome("tcp").Task.WaitAsync(TimeSpan.FromMinutes(2), Ct));
        Assert.Equal("aborted", await Outcome("vsock").Task.WaitAsync(TimeSpan.FromMinutes(2), Ct));
        Assert.Equal(StatusLine(overTcp), StatusLine(overVsock));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ClientLeavingMidBody_AbortsThatRequestOnly()
    {
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using VsockServer server = await VsockServer.StartAsync(app =>
        {
            app.MapPost("/", async (HttpRequest request) =>
            {
                try
                {
                    byte[] first = new byte[1000];
                    await request.Body.ReadExactlyAsync(first, request.HttpContext.RequestAborted);
                    reading.SetResult();
                    await request.Body.CopyToAsync(System.IO.Stream.Null, request.HttpContext.RequestAborted);
                    return "complete";
                }
                catch (Exception ex)
                {
                    failed.TrySetResult(ex);
                    throw;
                }
            });
            app.MapGet("/", () => "still here");
        });

        using (RawClient leaving = await RawClient.ConnectAsync(server.Target, Ct))
        {
            await leaving.SendAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + new string('a', 1000), Ct);
            await reading.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }

        Exception seen = await failed.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        using HttpClient client = server.CreateClient();

        Assert.True(seen is OperationCanceledException or System.IO.IOException or Microsoft.AspNetCore.Http.BadHttpRequestException, seen.ToString());
        Assert.Equal("still here", await client.GetStringAsync("/", Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ShutdownUnderLoad_NoRequestSucceedsWithoutItsWholeBody()
    {
        byte[] payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(256 * 1024);
        int started = 0;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", async (HttpContext context) =>
        {
            if (Interlocked.Increment(ref started) == 20)
            {
                allStarted.SetResult();
            }

            // Answer only once the shutdown has begun, so that every request is in flight across it.
            await StoppingAsync(context);
            await context.Response.Body.WriteAsync(payload, CancellationToken.None);
        }), configure: b => b.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(30)));
        try
        {
            using HttpClient client = server.CreateClient();
            Task<byte[]>[] inFlight = Enumerable.Range(0, 20).Select(_ => client.GetByteArrayAsync("/", Ct)).ToArray();
            await allStarted.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);

            await server.App.StopAsync(CancellationToken.None);

            byte[] expected = System.Security.Cryptography.SHA256.HashData(payload);
            // The shutdown timeout leaves time for all of them: each must succeed, and with its whole body
            // (a short body would fail the hash, not pass as a success).
            foreach (Task<byte[]> request in inFlight)
            {
                Assert.Equal(expected, System.Security.Cryptography.SHA256.HashData(await request));
            }

            await Assert.ThrowsAsync<VmciSocketException>(() => TestSockets.ConnectAsync(server.Target, Ct).AsTask());
        }
        finally
        {
            await server.App.DisposeAsync();
        }
    }

    internal static Task StoppingAsync(HttpContext context)
    {
        CancellationToken stopping = context.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stopping.Register(stopped.SetResult);
        return stopped.Task;
    }

    private static string StatusLine(string response) => response.Length == 0 ? "(nothing)" : response.Split("\r\n")[0];

    /// <summary>A short soak in every run; VMCI_LONG_TESTS=1 runs the 30-minute one.</summary>
    [VsockFact(VsockNeeds.Loopback)]
    public Task Soak_Short_MemoryAndDescriptorsStayFlat() => SoakAsync(TimeSpan.FromSeconds(20));

    [VsockFact(VsockNeeds.Loopback, Explicit = true)]
    public Task Soak_ThirtyMinutes_MemoryAndDescriptorsStayFlat() => SoakAsync(TimeSpan.FromMinutes(30));

    private static async Task SoakAsync(TimeSpan duration)
    {
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/{n:int}", (int n) => new string('x', n)), captureLogs: false);
        HashSet<string> descriptorsBefore = FileDescriptors.Snapshot();

        // A third of the time to let pools and caches reach their size, then the rest must not grow them.
        (long requests, long disconnects) = await LoadAsync(server, duration / 3);
        await WaitForAsync(() => FileDescriptors.OpenedSince(descriptorsBefore).Count == 0);
        long memoryWarm = ManagedAfterCollection();
        (long moreRequests, long moreDisconnects) = await LoadAsync(server, duration - duration / 3);
        await WaitForAsync(() => FileDescriptors.OpenedSince(descriptorsBefore).Count == 0);
        long memoryAfter = ManagedAfterCollection();

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"soak {duration}: {requests + moreRequests} requests, {disconnects + moreDisconnects} disconnects; live managed memory {memoryWarm} -> {memoryAfter} bytes; socket descriptors left open {FileDescriptors.OpenedSince(descriptorsBefore).Count}");
        Assert.True(moreRequests > 0 && moreDisconnects > 0, $"{moreRequests} requests, {moreDisconnects} disconnects");
        Assert.Empty(FileDescriptors.OpenedSince(descriptorsBefore));
        Assert.True(memoryAfter - memoryWarm < 4 << 20,
            $"live managed memory grew from {memoryWarm} to {memoryAfter} bytes over {moreRequests} requests and {moreDisconnects} disconnects (after {requests} and {disconnects} to warm up)");
    }

    /// <summary>Eight workers: half make keep-alive requests, half leave in the middle of a 200 KB response.</summary>
    private static async Task<(long Requests, long Disconnects)> LoadAsync(VsockServer server, TimeSpan duration)
    {
        long requests = 0, disconnects = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
        {
            var rng = new Random(worker);
            while (clock.Elapsed < duration)
            {
                if (rng.Next(2) == 0)
                {
                    using HttpClient client = server.CreateClient();
                    for (int i = 0; i < 5; i++)
                    {
                        Assert.Equal(1000, (await client.GetStringAsync("/1000", Ct)).Length);
                        Interlocked.Increment(ref requests);
                    }
                }
                else
                {
                    using RawClient client = await RawClient.ConnectAsync(server.Target, Ct);
                    await client.SendAsync("GET /200000 HTTP/1.1\r\nHost: x\r\n\r\n", Ct);
                    await client.Socket.ReceiveAsync(new byte[100], SocketFlags.None, Ct);
                    Interlocked.Increment(ref disconnects);
                }
            }
        }));
        return (requests, disconnects);
    }

    private static long ManagedAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition() && !timeout.IsCancellationRequested)
        {
            await Task.Delay(100, CancellationToken.None);
        }
    }
}

using System;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Net.Client;
using Vmci.Native;
using WebAppOverVmci.Grpc;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Readiness across two kernels: the Native AOT dashboard in real guest 3, started with NOTIFY_SOCKET as a VMM's
/// init would start it, tells a receiver here (the host, CID 2) that it serves, and answers HTTP and gRPC; a guest that never gets ready
/// makes the wait time out with a message that names it. Shares the guests with <see cref="GuestTests"/>.
/// </summary>
[Collection(nameof(GuestTests))]
public sealed class GuestNotifyTests
{
    /// <summary>The sample dashboard in the guests' initramfs (eng/test puts it there).</summary>
    private const string Dashboard = "/opt/WebAppOverVmci/WebAppOverVmci";

    /// <summary>Its process name, for busybox's pidof and killall (the guests' busybox has no pgrep or pkill).</summary>
    private const string DashboardProcess = "WebAppOverVmci";

    /// <summary>Its HTTP/1.1 port (it takes the next one for HTTP/2); clear of Vmci.AotSmoke's 9000 and 9001.</summary>
    private const uint DashboardPort = 8080;

    /// <summary>How long a command may wait for guest 3's agent, which may be busy starting Vmci.AotSmoke for other tests.</summary>
    private static readonly TimeSpan AgentWait = TimeSpan.FromMinutes(12);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GuestFact]
    public async Task Guest3Dashboard_NotifiesTheHost_ReadyWhenItServes_AnswersHttpAndGrpc_StoppingOnSigterm()
    {
        // A guest under TCG inside TCG, busy starting its app, may take longer than the default 10 s between its
        // connect and the end of its message (a pass of 2026-12-01 saw one message refused and no READY=1).
        await using var receiver = VmciNotifyReceiver.Start(
            new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { MessageTimeout = TimeSpan.FromMinutes(2) });
        string address = receiver.GuestAddress.ToString();
        Assert.StartsWith("vsock-stream:2:", address, StringComparison.Ordinal);

        try
        {
            DateTimeOffset started = DateTimeOffset.UtcNow;
            await Guests.RunAsync(3, $"killall {DashboardProcess} 2>/dev/null; NOTIFY_SOCKET={address} {Dashboard} --port {DashboardPort} >/tmp/dashboard.log 2>&1 &", AgentWait);
            Task<VmciNotification> waiting = receiver.WaitForReadyAsync(3, TimeSpan.FromMinutes(10), Ct);
            Task<string?> exited = WatchForExitAsync(waiting);
            if (await Task.WhenAny(waiting, exited) == exited && await exited is string output)
            {
                Assert.Fail($"the dashboard in guest 3 exited before it sent READY=1: {output}");
            }

            VmciNotification ready = await waiting;
            TimeSpan toReady = ready.ReceivedAt - started;

            // READY=1 means it serves: the first request, sent the moment READY=1 arrives and without a connect retry, is answered.
            using var client = new HttpClient(VmciHttp.CreateHandler(new VmciEndPoint(3, DashboardPort)));
            string status = await client.GetStringAsync("http://localhost/api/status", Ct);
            TimeSpan toAnswer = DateTimeOffset.UtcNow - started;

            // gRPC across kernels, on the dashboard's HTTP/2 port (one start of the dashboard serves both checks:
            // each costs minutes in a nested guest).
            using GrpcChannel channel = GrpcChannel.ForAddress("http://cid-3", new GrpcChannelOptions { HttpHandler = VmciHttp.CreateHandler(new VmciEndPoint(3, DashboardPort + 1)) });
            var dashboard = new Dashboard.DashboardClient(channel);
            GetStatusReply grpc = await dashboard.GetStatusAsync(new GetStatusRequest(), cancellationToken: Ct);
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            using AsyncServerStreamingCall<VmStatus> watch = dashboard.WatchStatus(new WatchStatusRequest(), cancellationToken: watching.Token);
            Assert.True(await watch.ResponseStream.MoveNext(watching.Token), "the watch stream ended before its first status");
            VmStatus watched = watch.ResponseStream.Current;
            await watching.CancelAsync();

            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"guest 3: exec to READY=1 seen by the host {toReady.TotalSeconds:0.0} s; first request answered {toAnswer.TotalSeconds:0.0} s after exec ({(toAnswer - toReady).TotalSeconds:0.0} s after READY=1)"));
            Assert.Equal(3u, ready.PeerCid);
            Assert.Equal("READY=1", NotificationText.Of(ready));
            using (JsonDocument json = JsonDocument.Parse(status))
            {
                Assert.Equal("3", json.RootElement.GetProperty("status").GetProperty("localCid").GetString());
                Assert.Equal(2u, json.RootElement.GetProperty("you").GetProperty("peerCid").GetUInt32());
            }

            Assert.Equal((3u, "vsock", 2u, "HTTP/2"), (grpc.Status.LocalCid, grpc.You.Transport, grpc.You.PeerCid, grpc.You.Protocol));
            Assert.Equal(3u, watched.LocalCid);
            Assert.Null(await exited);

            // SIGTERM, as an init stops a service: STOPPING=1 arrives from CID 3 before the process exits.
            await Guests.RunAsync(3, $"killall -TERM {DashboardProcess}; i=0; while pidof {DashboardProcess} >/dev/null; do i=$((i + 1)); [ $i -lt 600 ] || exit 1; sleep 0.5; done", AgentWait);
            await receiver.DisposeAsync();
            var all = await receiver.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal(["READY=1", "STOPPING=1"], all.Select(NotificationText.Of));
            Assert.All(all, n => Assert.Equal(3u, n.PeerCid));
            Assert.Equal(0, receiver.RejectedMessages);
        }
        finally
        {
            // A failed run must not leave the dashboard taking guest 3's one vCPU from the tests after it.
            await Guests.ExecAsync(3, $"killall -KILL {DashboardProcess} 2>/dev/null; true", AgentWait);
        }
    }

    /// <summary>
    /// Until <paramref name="ready"/> completes, looks every 10 s whether the dashboard still runs in guest 3: one that
    /// exits (a missing file, a port in use) never sends READY=1, and the test should say so at once, with its output.
    /// </summary>
    /// <returns>The dashboard's output if it exited first; null once READY=1 came.</returns>
    private static async Task<string?> WatchForExitAsync(Task ready)
    {
        while (!ready.IsCompleted)
        {
            var (alive, output) = await Guests.ExecAsync(3, $"pidof {DashboardProcess} >/dev/null || {{ cat /tmp/dashboard.log; exit 1; }}", AgentWait);
            if (alive != 0 && !ready.IsCompleted)
            {
                return output;
            }

            await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(10), Ct));
        }

        return null;
    }

    [GuestFact]
    public async Task AGuestThatNeverGetsReady_TheWaitTimesOutNamingTheCidAndThePort()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        uint port = ((VmciEndPoint)receiver.EndPoint).Port;

        // Guest 4 runs, but nothing in it was told to notify: a guest whose service never starts.
        Assert.True(Guests.IsRunning(4), "guest 4's qemu is not running");
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForReadyAsync(4, TimeSpan.FromSeconds(15), Ct));

        Assert.Contains("CID 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains(port.ToString(CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }
}

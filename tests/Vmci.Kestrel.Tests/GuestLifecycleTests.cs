using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Native;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// What a real guest's life does to connections across kernels: paused and resumed (qemu stop/cont), crashed
/// (its qemu killed) during a download and with an idle keep-alive connection, rebooted (system_reset) under a
/// pooled HttpClient, saved to a file and restored (a snapshot). Guest 4 takes the blows; whatever state a test
/// leaves it in, the next one that needs its servers boots it again (<see cref="GuestServers.EnsureAsync"/>).
/// Each test writes what it measured. A nested boot costs minutes, so these are explicit tests:
/// <c>VMCI_LONG_TESTS=1 eng/test</c> runs them.
/// </summary>
[Collection(nameof(GuestTests))]
public sealed class GuestLifecycleTests
{
    private const uint Victim = 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The kernel's default connect timeout is 2 s; a guest that is busy under TCG inside TCG (starting an app, or
    /// still running a command a failed test left behind) can take longer to answer a connect, which would make a
    /// test about pauses and crashes fail for the wrong reason.
    /// </summary>
    private static VmciConnectionFactoryOptions SlowGuest(TimeSpan? retry = null) => new() { ConnectTimeout = TimeSpan.FromSeconds(30), ConnectRetryTimeout = retry };

    private static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    [GuestFact(Explicit = true)]
    public async Task Paused_ThenResumed_ADownloadInFlightCompletes()
    {
        await GuestServers.EnsureAsync(Victim);
        const long Length = 64L * 1024 * 1024;
        using var client = new HttpClient(VmciHttp.CreateHandler(null, SlowGuest())) { Timeout = TimeSpan.FromMinutes(10) };
        using HttpResponseMessage response = await client.GetAsync(Bytes(Length), HttpCompletionOption.ResponseHeadersRead, Ct);
        await using Stream body = await response.Content.ReadAsStreamAsync(Ct);
        var reader = new PatternReader(body);
        await reader.ReadAsync(1024 * 1024);

        await Guests.MonitorAsync(Victim, "stop");
        string status = await Guests.MonitorAsync(Victim, "info status");
        Task<long> rest = reader.ReadToEndAsync();
        // The pause itself: what was in the socket buffers still arrives, then nothing until the guest runs again.
        // Meanwhile a new connection to the paused guest times out, and the tool says how to wait longer.
        var (connectExit, _, connectError) = await ExternalProcess.RunAsync(
            "dotnet", [ToolProcess.ToolPath, "get", "--connect-timeout", "2", $"vsock://{Victim}:{GuestServers.SmokePort}/status"], timeout: TimeSpan.FromMinutes(2));
        await Task.Delay(TimeSpan.FromSeconds(10), Ct);
        long beforeResume = reader.Received;
        await Guests.MonitorAsync(Victim, "cont");
        var resumed = Stopwatch.StartNew();
        long total = await rest;

        Assert.Contains("paused", status, StringComparison.Ordinal);
        Assert.Equal(Length, total);
        Assert.Equal(-1, reader.FirstWrong);
        Assert.True(beforeResume < Length, "the whole download arrived while the guest was paused: the pause did not hold it up");
        Assert.True(connectExit == 28, $"vmci get to the paused guest exited {connectExit}: {connectError}");
        Assert.Contains("To wait longer: --connect-timeout SECONDS", connectError, StringComparison.Ordinal);
        Report($"{reader.ReceivedAtPause} bytes had arrived when stop was sent ({status.Trim()}), {beforeResume} when cont was sent (what the socket buffers held), the rest ({Length - beforeResume} bytes) took {resumed.Elapsed.TotalSeconds:F1} s after cont");
    }

    [GuestFact(Explicit = true)]
    public async Task Crashed_DuringADownload_TheRequestFailsPromptlyWithAReset()
    {
        await GuestServers.EnsureAsync(Victim);
        const long Length = 1L << 30;
        using var client = new HttpClient(VmciHttp.CreateHandler(null, SlowGuest())) { Timeout = TimeSpan.FromMinutes(10) };
        using HttpResponseMessage response = await client.GetAsync(Bytes(Length), HttpCompletionOption.ResponseHeadersRead, Ct);
        await using Stream body = await response.Content.ReadAsStreamAsync(Ct);
        var reader = new PatternReader(body);
        await reader.ReadAsync(1024 * 1024);

        Task<long> rest = reader.ReadToEndAsync();
        await Guests.KillAsync(Victim);
        var killed = Stopwatch.StartNew();
        Exception? failure = null;
        try
        {
            await rest;
        }
        catch (Exception e)
        {
            failure = e;
        }

        TimeSpan took = killed.Elapsed;
        Assert.NotNull(failure);

        // The host's vhost-vsock resets the connections of a guest whose device went away.
        Assert.True(failure is IOException or HttpRequestException, failure.ToString());
        Assert.Contains(Chain(failure), e => e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset });
        Assert.True(took < client.Timeout, $"the download hung for {took} after the guest died");
        Assert.True(reader.Received < Length);
        Report($"guest killed after {reader.Received} bytes; the read failed {took.TotalMilliseconds:F0} ms later: {Describe(failure)}");
    }

    [GuestFact(Explicit = true)]
    public async Task Crashed_WithAnIdleKeepAliveToKestrelHere_KestrelClosesIt_ARetryingRequestWaitsForTheNewGuest_AndTheCidsSlotIsFreed()
    {
        await GuestServers.EnsureAsync(Victim);
        var closed = new ConcurrentQueue<Dictionary<string, object?>>();
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapGet("/", (HttpContext c) => $"peer {c.GetVmciConnection()?.PeerCid}"),
            transport: t => t.MaxConnectionsPerPeerCid = 1,
            port: GuestServers.HostPort());
        using MeterListener listener = ServerMeters.Listen(server, "Microsoft.AspNetCore.Server.Kestrel", "kestrel.connection.duration", (_, tags) => closed.Enqueue(tags));
        string url = $"http://cid-host:{server.Target.Port}/";

        // The guest's client answers, then stays, its connection idle in its pool.
        await Guests.RunAsync(Victim, $"{GuestServers.Smoke} get {url} 1 stay >/tmp/stay.out 2>&1 & i=0; until grep -q 200 /tmp/stay.out; do i=$((i + 1)); [ $i -lt 300 ] || {{ cat /tmp/stay.out; exit 1; }}; sleep 2; done; cat /tmp/stay.out", TimeSpan.FromMinutes(11));
        Assert.Empty(closed);
        await Guests.KillAsync(Victim);
        var killed = Stopwatch.StartNew();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            while (closed.IsEmpty)
            {
                await Task.Delay(50, timeout.Token);
            }
        }

        TimeSpan took = killed.Elapsed;
        Assert.Equal(Victim, Convert.ToUInt32(closed.Single()["vsock.peer.cid"], System.Globalization.CultureInfo.InvariantCulture));

        // No guest has CID 4 now: what one connect says, then a request that waits for the guest to come back.
        var absent = new VmciEndPoint(Victim, GuestServers.SmokePort);
        Vmci.Testing.VsockGuard.EnsureMayConnect(absent);
        var attempt = Stopwatch.StartNew();
        SocketException noGuest = await Assert.ThrowsAnyAsync<SocketException>(async () => (await VmciSocket.ConnectAsync(absent, Ct)).Dispose());
        TimeSpan attemptTook = attempt.Elapsed;
        using var waiting = new HttpClient(VmciHttp.CreateHandler(null, SlowGuest(TimeSpan.FromMinutes(15))))
        {
            Timeout = TimeSpan.FromMinutes(20),
        };
        Task<string> early = waiting.GetStringAsync(new Uri($"http://cid-{Victim}:{GuestServers.SmokePort}/status"), Ct);
        var booting = Stopwatch.StartNew();
        await GuestServers.EnsureAsync(Victim);
        string status = await early;
        Assert.Equal(GuestServers.Status(Victim), status);

        // The new guest with the same CID gets the one connection its CID may have: the dead one's slot was freed.
        string again = await Guests.RunAsync(Victim, $"{GuestServers.Smoke} get {url}");
        Assert.Equal($"1: 200 peer {Victim}", again.Trim());
        Report($"with no guest at CID {Victim} a connect failed after {attemptTook.TotalMilliseconds:F0} ms: {noGuest.SocketErrorCode}: {noGuest.Message}");
        Report($"a request started before the new guest booted (ConnectRetryTimeout) was answered {booting.Elapsed.TotalSeconds:F0} s later, once the guest served");
        Report($"Kestrel closed the dead guest's idle connection {took.TotalMilliseconds:F0} ms after its qemu was killed");
    }

    [GuestFact(Explicit = true)]
    public async Task Rebooted_APooledHttpClientsNextRequestReachesTheNewGuest_AndARetryingRequestWaitsForIt()
    {
        await GuestServers.EnsureAsync(Victim);
        using var client = new HttpClient(VmciHttp.CreateHandler(null, SlowGuest(TimeSpan.FromMinutes(15)))) { Timeout = TimeSpan.FromMinutes(20) };
        var status = new Uri($"http://cid-{Victim}:{GuestServers.SmokePort}/status");
        Assert.Equal(GuestServers.Status(Victim), await client.GetStringAsync(status, Ct));
        double uptimeBefore = await UptimeAsync();

        // The pooled connection is idle when the guest reboots; the next request goes out while the new boot has
        // no server yet, and waits for it (ConnectRetryTimeout).
        await Guests.ResetAsync(Victim, wait: false);
        var reset = Stopwatch.StartNew();
        Task<string> next = client.GetStringAsync(status, Ct);
        await Guests.WaitForBootAsync(Victim);
        await GuestServers.EnsureAsync(Victim);
        string after = await next;
        TimeSpan took = reset.Elapsed;

        Assert.Equal(GuestServers.Status(Victim), after);
        Assert.True(await UptimeAsync() < uptimeBefore + took.TotalSeconds, "the guest did not reboot");
        Report($"after system_reset the pooled client's next request (sent at once) was answered by the new boot {took.TotalSeconds:F0} s later");
    }

    [GuestFact(Explicit = true)]
    public async Task SavedToAFileAndRestored_TheSameServerAnswers_AndAPooledClientsNextRequestGetsThrough()
    {
        await GuestServers.EnsureAsync(Victim);
        using var client = new HttpClient(VmciHttp.CreateHandler(null, SlowGuest())) { Timeout = TimeSpan.FromMinutes(5) };
        var status = new Uri($"http://cid-{Victim}:{GuestServers.SmokePort}/status");
        Assert.Equal(GuestServers.Status(Victim), await client.GetStringAsync(status, Ct));
        string serverBefore = await ServerPidAsync();

        // As a microVM host snapshots a guest and resumes it later, maybe elsewhere: the pooled connection above is
        // idle across it. The restored guest's vsock transport is reset (its connections end), its listeners stay.
        string saved = await Guests.SaveAsync(Victim);
        Assert.False(Guests.IsRunning(Victim));
        string restored = await Guests.RestoreAsync(Victim);
        var asking = Stopwatch.StartNew();
        string after = await client.GetStringAsync(status, Ct);
        TimeSpan answered = asking.Elapsed;

        Assert.Equal(GuestServers.Status(Victim), after);
        Assert.Equal(serverBefore, await ServerPidAsync());
        Report($"{saved.Trim()}; {restored.Trim()}; the pooled client's next request was answered {answered.TotalMilliseconds:F0} ms after the restore, by the server that ran before it (pid {serverBefore.Trim()})");
    }

    private static Task<string> ServerPidAsync() => Guests.RunAsync(Victim, "pidof Vmci.AotSmoke");

    private static async Task<double> UptimeAsync()
        => double.Parse((await Guests.RunAsync(Victim, "cut -d' ' -f1 /proc/uptime")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static Uri Bytes(long length) => new($"http://cid-{Victim}:{GuestServers.SmokePort}/bytes/{length}");

    private static long Served(string statusJson)
    {
        using var json = System.Text.Json.JsonDocument.Parse(statusJson);
        return json.RootElement.GetProperty("status").GetProperty("requestsServed").GetInt64();
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }

    private static string Describe(Exception e) => string.Join(" -> ", Chain(e).Select(x => $"{x.GetType().Name}: {x.Message}"));

    /// <summary>Reads Vmci.AotSmoke's /bytes pattern (byte i is i % 251) and checks every byte.</summary>
    private sealed class PatternReader(Stream body)
    {
        private readonly byte[] _buffer = new byte[1 << 16];

        private long _received;

        public long Received => Interlocked.Read(ref _received);

        public long ReceivedAtPause { get; private set; }

        public long FirstWrong { get; private set; } = -1;

        public async Task ReadAsync(long atLeast)
        {
            while (Received < atLeast && await ReadOnceAsync(Ct) > 0)
            {
            }

            ReceivedAtPause = Received;
        }

        public async Task<long> ReadToEndAsync()
        {
            while (await ReadOnceAsync(Ct) > 0)
            {
            }

            return Received;
        }

        private async Task<int> ReadOnceAsync(CancellationToken cancellationToken)
        {
            int n = await body.ReadAsync(_buffer, cancellationToken);
            for (int i = 0; i < n && FirstWrong < 0; i++)
            {
                if (_buffer[i] != (byte)((Received + i) % 251))
                {
                    FirstWrong = Received + i;
                }
            }

            Interlocked.Add(ref _received, n);
            return n;
        }
    }
}

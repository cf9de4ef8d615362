using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// Host to guest through a Firecracker-style muxer (<see cref="HybridVsockMuxer"/>). Tests whose muxer never
/// reaches the guest run anywhere; the rest connect the muxer to real vsock in the sandbox VM.
/// </summary>
[Trait("Category", "Vsock")]
public sealed class HybridVsockClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<VsockServer> StartGuestAsync(HttpProtocols protocols = HttpProtocols.Http1) => VsockServer.StartAsync(
        app => app.MapGet("/", (HttpContext c) => $"{c.Request.Protocol} from cid {c.GetVmciConnection()!.PeerCid}"),
        listen: l => l.Protocols = protocols);

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData(HttpProtocols.Http1, "1.1")]
    [InlineData(HttpProtocols.Http2, "2.0")]
    public async Task HttpClient_ReachesTheGuest_OverHttp11AndH2c(HttpProtocols protocols, string version)
    {
        await using VsockServer guest = await StartGuestAsync(protocols);
        await using var muxer = HybridVsockMuxer.Start();
        using var client = new HttpClient(VmciHttp.CreateHandler(muxer.GuestPort(guest.Target.Port)))
        {
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        string first = await client.GetStringAsync("http://fc-guest/", Ct);
        string second = await client.GetStringAsync("http://fc-guest/", Ct);

        Assert.Equal($"{(version == "1.1" ? "HTTP/1.1" : "HTTP/2")} from cid 1", first);
        Assert.Equal(first, second);
        Assert.Equal("CONNECT " + guest.Target.Port, await muxer.NextCommandAsync(Ct));
        Assert.Equal(1, muxer.Attempts); // keep-alive: one connection for both requests
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ClosesWithoutAnswer_AreRetried_UntilTheGuestAccepts()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        muxer.DropFirst = 3;
        using var client = new HttpClient(VmciHttp.CreateHandler(muxer.GuestPort(guest.Target.Port), new VmciConnectionFactoryOptions { ConnectTimeout = TimeSpan.FromSeconds(30) }));

        string answer = await client.GetStringAsync("http://fc-guest/", Ct);

        Assert.Equal("HTTP/1.1 from cid 1", answer);
        Assert.Equal(4, muxer.Attempts);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task NothingListensInTheGuest_FailsAfterTheTimeout_NamingPathPortAndBothCauses()
    {
        await using var muxer = HybridVsockMuxer.Start();
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        HybridVsockEndPoint target = muxer.GuestPort(closed.Port);
        // Long enough for the muxer to answer the first CONNECT under a loaded VM: a deadline that strikes while the first
        // answer is still awaited is a silent hypervisor (TimedOut), a different case with its own test.
        using var factory = new VmciConnectionFactory(Microsoft.Extensions.Options.Options.Create(new VmciConnectionFactoryOptions { ConnectTimeout = TimeSpan.FromSeconds(5) }), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => factory.ConnectAsync(target, Ct).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
        Assert.Equal(target, ex.EndPoint);
        Assert.Contains(muxer.UdsPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"nothing listens on vsock port {closed.Port} in the guest", ex.Message, StringComparison.Ordinal);
        Assert.Contains("vsock driver is not up yet", ex.Message, StringComparison.Ordinal);
        Assert.True(muxer.Attempts > 1, $"{muxer.Attempts} attempts");
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task SlowAck_IsWaitedFor()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        muxer.AckGate = gate.Task;
        using var client = new HttpClient(VmciHttp.CreateHandler(muxer.GuestPort(guest.Target.Port), new VmciConnectionFactoryOptions { ConnectTimeout = TimeSpan.FromSeconds(60) }));

        Task<string> request = client.GetStringAsync("http://fc-guest/", Ct);
        await muxer.NextCommandAsync(Ct);
        bool answeredBeforeAck = request.IsCompleted;
        gate.SetResult();

        Assert.False(answeredBeforeAck);
        Assert.Equal("HTTP/1.1 from cid 1", await request);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task GuestBytesInTheSameWriteAsTheOk_ReachTheCaller()
    {
        (Socket listener, VmciEndPoint guestPort) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            Task speakFirst = Task.Run(async () =>
            {
                using Socket accepted = await listener.AcceptAsync(Ct);
                await accepted.SendAsync("hello from the guest\n"u8.ToArray(), SocketFlags.None, Ct);
                byte[] one = new byte[1];
                await accepted.ReceiveAsync(one, SocketFlags.None, Ct);
            }, Ct);
            await using var muxer = HybridVsockMuxer.Start();
            muxer.CoalesceFirstGuestBytes = true;

            using Socket socket = await HybridVsockSocket.ConnectAsync(muxer.GuestPort(guestPort.Port), TimeSpan.FromSeconds(30), Ct);
            using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), Encoding.ASCII);
            string? line = await reader.ReadLineAsync(Ct);
            socket.Shutdown(SocketShutdown.Both);
            await speakFirst;

            Assert.Equal("hello from the guest", line);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ConnectionFactory_GivesAPipeConnection_ThatSaysWhichSocketAndPort()
    {
        await using VsockServer guest = await StartGuestAsync();
        await using var muxer = HybridVsockMuxer.Start();
        using var factory = new VmciConnectionFactory();
        HybridVsockEndPoint target = muxer.GuestPort(guest.Target.Port);

        await using ConnectionContext connection = await factory.ConnectAsync(target, Ct);
        await connection.Transport.Output.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray(), Ct);
        string response = await ClientTests.ReadToEndAsync(connection.Transport.Input);

        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.EndsWith("HTTP/1.1 from cid 1\r\n0\r\n\r\n", response, StringComparison.Ordinal);
        Assert.Equal(target, connection.RemoteEndPoint);
        IHybridVsockConnectionFeature feature = connection.Features.Get<IHybridVsockConnectionFeature>()!;
        Assert.Equal(muxer.UdsPath, feature.UdsPath);
        Assert.Equal(guest.Target.Port, feature.Port);
        Assert.Null(connection.Features.Get<IVmciConnectionFeature>());
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Socat_AsAnOutsideMuxer_CarriesHttpToTheGuest()
    {
        // socat is no hypervisor, but nobody here wrote it: a shell reads the command line, says OK, and
        // hands the rest to a second socat that connects over vsock (a crude muxer without the retry cases).
        string socat = ExternalProcess.Require("socat", "socat");
        await using VsockServer guest = await StartGuestAsync();
        VsockGuard.EnsureMayConnect(guest.Target);
        string directory = Path.Combine(Path.GetTempPath(), $"hs-{Guid.NewGuid():N}"[..12]);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "vm.vsock");
        // In a script, so that socat's address syntax (':' and ',') does not meet the command's own.
        string script = Path.Combine(directory, "mux.sh");
        await File.WriteAllTextAsync(script, $"read -r verb port\necho OK 1073741824\nexec {socat} STDIO VSOCK-CONNECT:1:$port\n", Ct);
        var start = new ProcessStartInfo(socat) { RedirectStandardError = true };
        start.ArgumentList.Add($"UNIX-LISTEN:{path},fork");
        start.ArgumentList.Add($"EXEC:/bin/sh {script}");
        using Process process = Process.Start(start)!;
        try
        {
            using var client = new HttpClient(VmciHttp.CreateHandler(new HybridVsockEndPoint(path, guest.Target.Port), new VmciConnectionFactoryOptions { ConnectTimeout = TimeSpan.FromSeconds(30) }));

            // socat creates the socket file after it starts: the missing file is the one error worth waiting out here.
            string answer = await RetryWhileMissingAsync(() => client.GetStringAsync("http://fc-guest/", Ct));

            Assert.Equal("HTTP/1.1 from cid 1", answer);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string> RetryWhileMissingAsync(Func<Task<string>> request)
    {
        for (int i = 0; ; i++)
        {
            try
            {
                return await request();
            }
            catch (HttpRequestException ex) when (ex.InnerException is HybridVsockException { SocketErrorCode: SocketError.AddressNotAvailable } && i < 200)
            {
                await Task.Delay(50, Ct);
            }
        }
    }
}

/// <summary>The client's handshake failures against a scripted muxer that never reaches a guest: no vsock needed.</summary>
public sealed class HybridVsockHandshakeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MissingSocketFile_SaysSo()
    {
        var target = new HybridVsockEndPoint($"/tmp/no-such-dir-{Guid.NewGuid():N}/fc.vsock", 8080);

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => HybridVsockSocket.ConnectAsync(target, null, Ct).AsTask());

        Assert.Equal(SocketError.AddressNotAvailable, ex.SocketErrorCode);
        Assert.Contains($"the socket file {target.UdsPath} does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("vsock port 8080", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StaleSocketFile_SaysNothingListens()
    {
        await using var muxer = HybridVsockMuxer.Start();
        string stale = muxer.UdsPath + ".stale";
        HybridVsockMuxer.CreateStaleSocketFile(stale); // what a killed hypervisor leaves

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => HybridVsockSocket.ConnectAsync(new HybridVsockEndPoint(stale, 1), null, Ct).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
        Assert.Contains($"nothing listens on {stale}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task PermissionDenied_SaysSo()
    {
        await using var muxer = HybridVsockMuxer.Start();
        File.SetUnixFileMode(muxer.UdsPath, UnixFileMode.None);

        // Root passes every file permission check, unless the thread that connects has given up CAP_DAC_OVERRIDE;
        // connect(2) on a Unix socket answers at once, on the calling thread.
        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => Environment.IsPrivilegedProcess
            ? ThreadCapabilities.RunWithout(ThreadCapabilities.DacOverride, () => HybridVsockSocket.ConnectAsync(muxer.GuestPort(1), null, Ct).AsTask())
            : HybridVsockSocket.ConnectAsync(muxer.GuestPort(1), null, Ct).AsTask());

        Assert.Equal(SocketError.AccessDenied, ex.SocketErrorCode);
        Assert.Contains($"permission denied on {muxer.UdsPath}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NOPE\n", "was \"NOPE\\n\", and it is not OK followed by a port number")]
    [InlineData("OK\n", "was \"OK\\n\", and it is not OK followed by a port number")]
    [InlineData("OK 12x\n", "was \"OK 12x\\n\"")]
    [InlineData("OK 99999999999\n", "was \"OK 99999999999\\n\"")]
    [InlineData("OK 1073741824", "and it ends before its newline")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "and it is longer than 32 bytes without a newline")]
    public async Task WrongAnswers_AreProtocolErrors_NotRetried(string reply, string expected)
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.Reply = Encoding.ASCII.GetBytes(reply);

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromSeconds(30), Ct).AsTask());

        Assert.Equal(SocketError.ProtocolNotSupported, ex.SocketErrorCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains(muxer.UdsPath, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, muxer.Attempts);
    }

    [Fact]
    public async Task WrongAnswer_IsOneHybridVsockException_WithTheExactMessage_NotWrappedAgain()
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.Reply = "NOPE\n"u8.ToArray();

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromSeconds(30), Ct).AsTask());

        Assert.Equal(SocketError.ProtocolNotSupported, ex.SocketErrorCode);
        Assert.Equal(
            $"Connecting to vsock port 5000 through {muxer.UdsPath} failed: the answer to CONNECT 5000 was \"NOPE\\n\", and it is not OK followed by a port number (expected \"OK <hostport>\\n\"). Is {muxer.UdsPath} a Firecracker or Cloud Hypervisor vsock socket?",
            ex.Message);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public async Task WrongAnswer_AfterTheSocketFileWasRemoved_KeepsItsCode()
    {
        // The generic error path asks whether the socket file exists; a protocol error must never go through it.
        await using var muxer = HybridVsockMuxer.Start();
        var gate = new TaskCompletionSource();
        muxer.AckGate = gate.Task;
        muxer.Reply = "NOPE\n"u8.ToArray();

        Task<Socket> connect = HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromSeconds(30), Ct).AsTask();
        await muxer.NextCommandAsync(Ct);
        File.Delete(muxer.UdsPath); // the hypervisor exits and removes its socket while the answer is in flight
        gate.SetResult();
        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => connect);

        Assert.Equal(SocketError.ProtocolNotSupported, ex.SocketErrorCode);
        Assert.StartsWith($"Connecting to vsock port 5000 through {muxer.UdsPath} failed: the answer to CONNECT 5000 was \"NOPE\\n\"", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OK 1073741824\n")] // Firecracker, Cloud Hypervisor: a host port from 1 << 30 up
    [InlineData("OK 5000\n")] // vhost-device-vsock: the guest's port
    [InlineData("ok 1073741824\n")] // the case is not part of the contract
    [InlineData("Ok 7\n")]
    public async Task EveryMuxersAnswer_Connects_AndNothingAfterItIsTaken(string reply)
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.Reply = Encoding.ASCII.GetBytes(reply);

        using Socket socket = await HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(0, await socket.ReceiveAsync(new byte[16], SocketFlags.None, Ct)); // the muxer closed after its line
        Assert.Equal(1, muxer.Attempts);
    }

    [Fact]
    public async Task TheRequestLine_ArrivesWholeInOneWrite_AsCloudHypervisorNeedsIt()
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.CommandInOneRead = true;
        muxer.Reply = "OK 1073741824\n"u8.ToArray();

        using Socket socket = await HybridVsockSocket.ConnectAsync(muxer.GuestPort(52), TimeSpan.FromSeconds(30), Ct);

        Assert.Equal("CONNECT 52\n", await muxer.NextCommandAsync(Ct));
        Assert.Equal(1, muxer.Attempts);
    }

    [Fact]
    public async Task SilentMuxer_TimesOut_SayingItDidNotAnswer()
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.AckGate = new TaskCompletionSource().Task; // never

        var ex = await Assert.ThrowsAsync<HybridVsockException>(() => HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromMilliseconds(500), Ct).AsTask());

        Assert.Equal(SocketError.TimedOut, ex.SocketErrorCode);
        Assert.Contains("did not answer CONNECT 5000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_DuringTheHandshake_Cancels()
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.AckGate = new TaskCompletionSource().Task; // never
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        Task<Socket> connect = HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromMinutes(5), cts.Token).AsTask();
        Assert.Equal("CONNECT 5000", await muxer.NextCommandAsync(Ct));
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect);
    }

    [Fact]
    public async Task Cancellation_BetweenRetries_Cancels()
    {
        await using var muxer = HybridVsockMuxer.Start();
        muxer.DropFirst = int.MaxValue;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        Task<Socket> connect = HybridVsockSocket.ConnectAsync(muxer.GuestPort(5000), TimeSpan.FromMinutes(5), cts.Token).AsTask();
        await muxer.NextCommandAsync(Ct);
        await muxer.NextCommandAsync(Ct);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect);
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The notify receiver over real vsock (vsock_loopback: the sandbox plays both guest and host), against a sender
/// written here from sd_notify(3) (connect, send, shut down writing, wait for the receiver to close), socat, and
/// the library's own sender.
/// </summary>
public sealed class NotifyReceiverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// sd_notify(3) over a connection-oriented vsock socket, as the man page and systemd's sender do it: each packet
    /// (seqpacket) or the whole stream is the message; the end is a shutdown of writing, and the sender then waits
    /// for the receiver to close. Returns what the final read got: 0 is the close, -1 a reset.
    /// </summary>
    private static async Task<int> ManPageSendAsync(SocketType type, uint port, params byte[][] packets)
    {
        using Socket socket = VmciSocket.Create(type);
        await TestSockets.ConnectAsync(socket, new VmciEndPoint(VmciCid.Local, port), Ct);
        try
        {
            foreach (byte[] packet in packets)
            {
                for (int sent = 0; sent < packet.Length;)
                {
                    sent += await socket.SendAsync(packet.AsMemory(sent), SocketFlags.None, Ct);
                }
            }

            socket.Shutdown(SocketShutdown.Send);
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, Ct).AsTask().WaitAsync(Patience, Ct);
        }
        catch (SocketException)
        {
            return -1; // the receiver refused and closed before the sender was done
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static uint Port(VmciNotifyReceiver receiver) => ((VmciEndPoint)receiver.EndPoint).Port;

    private static async Task<List<VmciNotification>> TakeAsync(VmciNotifyReceiver receiver, int count)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Patience);
        var taken = new List<VmciNotification>();
        await foreach (VmciNotification notification in receiver.ReadAllAsync(cts.Token))
        {
            taken.Add(notification);
            if (taken.Count == count)
            {
                break;
            }
        }

        return taken;
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Stream_OneMessagePerConnection_FieldsAndCid_ReadyWaiterReturns()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        uint port = Port(receiver);
        Assert.Equal($"vsock-stream:2:{port}", receiver.GuestAddress.ToString());
        Task<VmciNotification> ready = receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct);

        Assert.Equal(0, await ManPageSendAsync(SocketType.Stream, port, Utf8("STATUS=Booting")));
        Assert.False(ready.IsCompleted);
        // The message may come in pieces: it ends only at the shutdown.
        Assert.Equal(0, await ManPageSendAsync(SocketType.Stream, port, Utf8("READY=1\nSTA"), Utf8("TUS=Serving\n")));
        Assert.Equal(0, await ManPageSendAsync(SocketType.Stream, port, Utf8("X_SYSTEMD_UNIT_ACTIVE=multi-user.target\r\nEXIT_STATUS=0")));

        List<VmciNotification> received = await TakeAsync(receiver, 3);
        Assert.Equal(["STATUS=Booting", "READY=1|STATUS=Serving", "X_SYSTEMD_UNIT_ACTIVE=multi-user.target|EXIT_STATUS=0"], received.Select(NotificationText.Of));
        Assert.All(received, n => Assert.Equal(VmciCid.Local, n.PeerCid));
        VmciNotification readyMessage = await ready;
        Assert.Same(received[1], readyMessage);
        Assert.Equal("Serving", readyMessage.Status);
        // Asked again later, it answers at once.
        Assert.Same(readyMessage, await receiver.WaitForReadyAsync(VmciCid.Local, TimeSpan.FromMilliseconds(1), Ct));
        Assert.Equal(0, receiver.RejectedMessages);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Seqpacket_EachPacketOneMessage()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { SocketType = SocketType.Seqpacket });
        uint port = Port(receiver);
        Assert.Equal($"vsock-seqpacket:2:{port}", receiver.GuestAddress.ToString());

        Assert.Equal(0, await ManPageSendAsync(SocketType.Seqpacket, port, Utf8("STATUS=one"), Utf8("STATUS=two\nREADY=1")));
        Assert.Equal(0, await ManPageSendAsync(SocketType.Seqpacket, port, Utf8("STOPPING=1")));

        List<VmciNotification> received = await TakeAsync(receiver, 3);
        Assert.Equal(["STATUS=one", "STATUS=two|READY=1", "STOPPING=1"], received.Select(NotificationText.Of));
        Assert.True(received[2].IsStopping);
        Assert.Same(received[1], await receiver.WaitForAnyReadyAsync(Patience, Ct));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task BadMessages_RefusedLoggedOnceCountedByReason_ReceiverKeepsServing()
    {
        var logs = new LogSink();
        using var loggers = new LoggerFactory([logs]);
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var reasons = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "vmci.notify.rejected_messages")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            reasons.Enqueue(tags.ToArray().Single(t => t.Key == "vmci.notify.reason").Value!.ToString()!));
        listener.Start();
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), null, loggers, services.GetRequiredService<IMeterFactory>());
        uint port = Port(receiver);

        int oversized = await ManPageSendAsync(SocketType.Stream, port, Utf8("STATUS=" + new string('x', 5000)));
        await ManPageSendAsync(SocketType.Stream, port, Utf8("READY=1\nno equals sign"));
        await ManPageSendAsync(SocketType.Stream, port, [(byte)'S', (byte)'=', 0xFF, 0xFE]);
        await ManPageSendAsync(SocketType.Stream, port, Utf8("=1"));
        await ManPageSendAsync(SocketType.Stream, port);
        Assert.Equal(0, await ManPageSendAsync(SocketType.Stream, port, Utf8("READY=1")));

        // The good message arrives, and nothing from the bad ones (the one with READY=1 and a bad line is refused whole).
        VmciNotification ready = await receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct);
        Assert.Equal("READY=1", NotificationText.Of(ready));
        Assert.Equal([ready], await TakeAsync(receiver, 1));
        Assert.True(oversized is 0 or -1, $"the oversized sender's connection was closed ({oversized})");
        Assert.Equal(5, receiver.RejectedMessages);
        listener.RecordObservableInstruments();
        Assert.Equal(["empty", "malformed", "malformed", "not_utf8", "oversized"], reasons.Order());
        // One line for the burst (rate-limited), naming the peer, the endpoint and the cause.
        LogEntry refused = Assert.Single(logs.Entries, e => e.EventId.Id == 42);
        Assert.Equal(LogLevel.Warning, refused.Level);
        Assert.Contains("from CID 1, port", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"vsock://any:{port}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("longer than 4096 bytes (MaxMessageBytes)", refused.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Seqpacket_OversizedPacket_Refused()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { SocketType = SocketType.Seqpacket, MaxMessageBytes = 64 });
        uint port = Port(receiver);

        await ManPageSendAsync(SocketType.Seqpacket, port, Utf8("STATUS=" + new string('x', 100)));
        await ManPageSendAsync(SocketType.Seqpacket, port, Utf8("READY=1"));

        Assert.Equal("READY=1", NotificationText.Of(await receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct)));
        Assert.Equal(1, receiver.RejectedMessages);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task FloodingGuest_ConnectionsBeyondTheLimitClosedUnread_OthersStillHeard()
    {
        var logs = new LogSink();
        using var loggers = new LoggerFactory([logs]);
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { MaxConnectionsPerCid = 2 }, loggers);
        var target = new VmciEndPoint(VmciCid.Local, Port(receiver));
        // Two connections held open without a message take the CID's share.
        using Socket first = await TestSockets.ConnectAsync(target, Ct);
        using Socket second = await TestSockets.ConnectAsync(target, Ct);
        var flood = new List<Socket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                flood.Add(await TestSockets.ConnectAsync(target, Ct));
            }

            // Every one beyond the limit is closed at once, before it sends anything.
            foreach (Socket extra in flood)
            {
                Assert.Equal(0, await extra.ReceiveAsync(new byte[1], SocketFlags.None, Ct).AsTask().WaitAsync(Patience, Ct));
            }
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
        }

        Assert.Equal(20, receiver.RejectedMessages);
        LogEntry refused = Assert.Single(logs.Entries, e => e.EventId.Id == 42);
        Assert.Contains("CID 1 already has 2 notify connections open (MaxConnectionsPerCid)", refused.Message, StringComparison.Ordinal);

        // The held connections still deliver, and once they are done the CID may connect again.
        await first.SendAsync(Utf8("STATUS=held"), SocketFlags.None, Ct);
        first.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await first.ReceiveAsync(new byte[1], SocketFlags.None, Ct));
        second.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await second.ReceiveAsync(new byte[1], SocketFlags.None, Ct));
        Assert.Equal(0, await ManPageSendAsync(SocketType.Stream, target.Port, Utf8("READY=1")));
        Assert.Equal(["STATUS=held", "READY=1"], (await TakeAsync(receiver, 2)).Select(NotificationText.Of));
        Assert.Equal(21, receiver.RejectedMessages); // the second one ended empty
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task SenderThatNeverEnds_ClosedAfterMessageTimeout_AndTheWaitNamesCidPortAndRefusal()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { MessageTimeout = TimeSpan.FromSeconds(1) });
        uint port = Port(receiver);
        using Socket slow = await TestSockets.ConnectAsync(new VmciEndPoint(VmciCid.Local, port), Ct);
        await slow.SendAsync(Utf8("READY=1"), SocketFlags.None, Ct);

        // No shutdown: the message never ends, so it is not delivered, and the receiver closes it.
        Assert.Equal(0, await slow.ReceiveAsync(new byte[1], SocketFlags.None, Ct).AsTask().WaitAsync(Patience, Ct));
        Assert.Equal(1, receiver.RejectedMessages);
        TimeoutException timeout = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForReadyAsync(VmciCid.Local, TimeSpan.FromMilliseconds(200), Ct));
        Assert.Contains("No READY=1 from CID 1", timeout.Message, StringComparison.Ordinal);
        Assert.Contains($"(port {port})", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("1 message(s) were refused, the last from CID 1 at ", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("because it did not end within 1 s (MessageTimeout)", timeout.Message, StringComparison.Ordinal);

        // A wait for another guest says that the refusal was not its.
        TimeoutException other = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForReadyAsync(3, TimeSpan.FromMilliseconds(200), Ct));
        Assert.Contains("1 message(s) were refused, none from CID 3", other.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task WaitForReady_NothingSent_TimesOutNamingCidAndPort()
    {
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        uint port = Port(receiver);

        TimeoutException timeout = await Assert.ThrowsAsync<TimeoutException>(() => receiver.WaitForReadyAsync(3, TimeSpan.FromMilliseconds(300), Ct));

        Assert.Contains("No READY=1 from CID 3", timeout.Message, StringComparison.Ordinal);
        Assert.Contains($"vsock://any:{port} (port {port})", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was received from CID 3", timeout.Message, StringComparison.Ordinal);
        Assert.Contains($"vsock-stream:2:{port}", timeout.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task LibrarySender_PlainVsockForm_FallsBackFromDatagramsToSeqpacket_PrivilegedPortWhenRoot()
    {
        await using var seqpacket = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { SocketType = SocketType.Seqpacket });
        await using var stream = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        var plain = new VmciNotifyAddress(new VmciEndPoint(VmciCid.Local, Port(seqpacket)));
        var streamed = VmciNotifyAddress.Parse($"vsock-stream:local:{Port(stream)}");
        VsockGuard.EnsureMayConnect(plain.EndPoint);
        VsockGuard.EnsureMayConnect(streamed.EndPoint);

        // vsock_loopback has no datagrams (ENODEV), so "vsock:" goes over seqpacket, as systemd's sender falls back.
        await VmciNotify.SendAsync(plain, "READY=1\nSTATUS=plain", Ct);
        await VmciNotify.SendAsync(streamed, "READY=1\nSTATUS=stream", Ct);

        VmciNotification viaSeqpacket = await seqpacket.WaitForReadyAsync(VmciCid.Local, Patience, Ct);
        VmciNotification viaStream = await stream.WaitForReadyAsync(VmciCid.Local, Patience, Ct);
        Assert.Equal("plain", viaSeqpacket.Status);
        Assert.Equal("stream", viaStream.Status);
        if (VsockEnvironment.IsRoot)
        {
            // systemd binds its sender below 1024 when it may, so a host can tell a privileged sender.
            Assert.True(viaStream.PeerPort < VmciPort.FirstUnprivileged, $"sender port {viaStream.PeerPort}");
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task LibrarySender_NobodyListening_SaysSo()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        VsockGuard.EnsureMayConnect(closed);

        VmciSocketException refused = await Assert.ThrowsAsync<VmciSocketException>(async () => await VmciNotify.SendAsync(new VmciNotifyAddress(closed, SocketType.Stream), "READY=1", Ct));

        Assert.Contains($"vsock://1:{closed.Port}", refused.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Socat_AsAStreamSender_IsHeard()
    {
        string socat = ExternalProcess.Require("socat", "socat");
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, Port(receiver)));

        var (exit, _, stderr) = await ExternalProcess.RunAsync(socat, ["-u", "-", $"VSOCK-CONNECT:1:{Port(receiver)}"], "STATUS=from socat\nREADY=1\n", Patience);

        Assert.True(exit == 0, stderr);
        Assert.Equal("STATUS=from socat|READY=1", NotificationText.Of(await receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct)));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Hybrid_ReceiverOnPathPort_ThroughTheMuxer_GuestSendsToCid2()
    {
        await using var muxer = HybridVsockMuxer.Start();
        var endPoint = new HybridVsockEndPoint(muxer.UdsPath, 9555);
        string listenPath = endPoint.ListenPath;
        VmciNotification ready;
        await using (var receiver = VmciNotifyReceiver.Start(endPoint))
        {
            Assert.Equal(endPoint, receiver.EndPoint);
            Assert.Equal("vsock-stream:2:9555", receiver.GuestAddress.ToString());
            Assert.True(File.Exists(listenPath));
            // The guest's view: vsock to "the host" (CID 1 here, standing for CID 2) at the port the muxer forwards.
            VmciEndPoint guestSide = muxer.ForwardGuestToHost(9555);
            VsockGuard.EnsureMayConnect(guestSide);
            await VmciNotify.SendAsync(new VmciNotifyAddress(guestSide, SocketType.Stream), "STATUS=hybrid\nREADY=1", Ct);

            ready = await receiver.WaitForAnyReadyAsync(Patience, Ct);
        }

        Assert.Equal("hybrid", ready.Status);
        Assert.Null(ready.PeerCid); // the hypervisor does not say: the sender is the VM behind the socket
        Assert.False(File.Exists(listenPath));
    }
}

/// <summary>Receiver arguments that need no vsock peer.</summary>
public sealed class NotifyReceiverArgumentTests
{
    [Fact]
    public void Hybrid_Seqpacket_RefusedWithTheReason()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"nr-{Guid.NewGuid():N}"[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            ArgumentException refused = Assert.Throws<ArgumentException>(() => VmciNotifyReceiver.Start(
                new HybridVsockEndPoint(Path.Combine(directory, "fc.vsock"), 9), new VmciNotifyReceiverOptions { SocketType = SocketType.Seqpacket }));
            Assert.Contains("carries stream connections only", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void OtherEndPoints_AndBadOptions_Refused()
    {
        Assert.Throws<ArgumentException>(() => VmciNotifyReceiver.Start(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { SocketType = SocketType.Dgram }));
        Assert.Throws<ArgumentOutOfRangeException>(() => VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { MaxMessageBytes = 0 }));
    }
}

using System;
using System.Linq;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class StreamTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData(1)]
    [InlineData(1_000)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    [InlineData(1 << 20)]
    [InlineData(16 << 20)]
    public async Task Echo_ReturnsEveryByte(int size)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            Task server = EchoOnceAsync(listener, ct);
            using Socket client = await TestSockets.ConnectAsync(target, ct);
            byte[] sent = RandomNumberGenerator.GetBytes(size);

            // Send and receive at once: a 16 MiB echo does not fit in the socket buffers.
            Task send = SendAllThenShutdownAsync(client, sent, ct);
            byte[] received = await ReceiveToEndAsync(client, ct).WaitAsync(HangGuard, ct);
            await send;
            await server.WaitAsync(HangGuard, ct);

            Assert.Equal(size, received.Length);
            Assert.Equal(SHA256.HashData(sent), SHA256.HashData(received));
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task HundredConcurrentConnections_EachGetTheirOwnBytesBack()
    {
        const int Connections = 100;
        CancellationToken ct = TestContext.Current.CancellationToken;
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback(backlog: Connections);
        using (listener)
        {
            Task server = Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => EchoOnceAsync(listener, ct)));

            byte[][] results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async i =>
            {
                using Socket client = await TestSockets.ConnectAsync(target, ct);
                byte[] message = new byte[4096];
                new Random(i).NextBytes(message);
                BitConverter.TryWriteBytes(message, i);
                Task send = SendAllThenShutdownAsync(client, message, ct);
                byte[] echo = await ReceiveToEndAsync(client, ct);
                await send;
                return echo;
            })).WaitAsync(HangGuard, ct);
            await server.WaitAsync(HangGuard, ct);

            for (int i = 0; i < Connections; i++)
            {
                byte[] expected = new byte[4096];
                new Random(i).NextBytes(expected);
                BitConverter.TryWriteBytes(expected, i);
                Assert.Equal(expected, results[i]);
            }
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task WritingAfterThePeerClosed_FailsWithAnError_NotSigpipe()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            Task<Socket> accept = listener.AcceptAsync(ct).AsTask();
            using Socket client = await TestSockets.ConnectAsync(target, ct);
            (await accept.WaitAsync(HangGuard, ct)).Dispose();

            // The first writes may still be taken by the kernel; one soon fails. A SIGPIPE would end this process.
            var ex = await Assert.ThrowsAsync<SocketException>(async () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    await client.SendAsync(new byte[4096], SocketFlags.None, ct);
                    await Task.Delay(5, ct);
                }
            });

            Assert.True(ex.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset or SocketError.ConnectionAborted, ex.ToString());
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task SeqPacket_KeepsMessageBoundaries()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (Socket client, Socket server) = await SeqPacketPairAsync(ct);
        using (client)
        using (server)
        {
            int[] sizes = [1, 7, 1000, 30_000, 2];
            foreach (int size in sizes)
            {
                byte[] message = Enumerable.Repeat((byte)size, size).ToArray();
                Assert.Equal(size, await client.SendAsync(message, SocketFlags.None, ct));
            }

            // Every send arrives as one receive of exactly its size, though the buffer could hold them all.
            byte[] buffer = new byte[64 * 1024];
            foreach (int size in sizes)
            {
                int received = await server.ReceiveAsync(buffer, SocketFlags.None, ct).AsTask().WaitAsync(HangGuard, ct);
                Assert.Equal(size, received);
                Assert.All(buffer[..received], b => Assert.Equal((byte)size, b));
            }
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task SeqPacket_TruncatesAMessageLargerThanTheBuffer()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (Socket client, Socket server) = await SeqPacketPairAsync(ct);
        using (client)
        using (server)
        {
            await client.SendAsync(new byte[100], SocketFlags.None, ct);
            await client.SendAsync(new byte[] { 42 }, SocketFlags.None, ct);

            byte[] small = new byte[10];
            int n = await server.ReceiveAsync(small, SocketFlags.None, ct);
            Assert.Equal(10, n);
            n = await server.ReceiveAsync(small, SocketFlags.None, ct);
            Assert.Equal(1, n);
            Assert.Equal(42, small[0]);
        }
    }

    /// <summary>A connected seqpacket pair over CID 1; the listener is gone once they are.</summary>
    private static async Task<(Socket Client, Socket Server)> SeqPacketPairAsync(CancellationToken ct)
    {
        using Socket listener = VmciSocket.Create(SocketType.Seqpacket);
        VmciSocket.Bind(listener, new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        listener.Listen();
        var target = new VmciEndPoint(VmciCid.Local, ((VmciEndPoint)listener.LocalEndPoint!).Port);
        Task<Socket> accept = listener.AcceptAsync(ct).AsTask();
        Socket client = VmciSocket.Create(SocketType.Seqpacket);
        try
        {
            await TestSockets.ConnectAsync(client, target, ct);
            return (client, await accept.WaitAsync(HangGuard, ct));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task EchoOnceAsync(Socket listener, CancellationToken ct)
    {
        using Socket peer = await listener.AcceptAsync(ct);
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = await peer.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            await SendAllAsync(peer, buffer.AsMemory(0, n), ct);
        }

        peer.Shutdown(SocketShutdown.Send);
    }

    private static async Task SendAllThenShutdownAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await SendAllAsync(socket, data, ct);
        socket.Shutdown(SocketShutdown.Send);
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, ct);
            data = data[sent..];
        }
    }

    private static async Task<byte[]> ReceiveToEndAsync(Socket socket, CancellationToken ct)
    {
        using var received = new System.IO.MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}

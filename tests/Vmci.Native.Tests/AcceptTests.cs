using System;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class AcceptTests
{
    // Generous: these guard against a hang, they do not measure speed (the sandbox runs under TCG).
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task PendingAccept_IsCancelledByItsToken()
    {
        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        using var cts = new CancellationTokenSource();

        ValueTask<Socket> accept = listener.AcceptAsync(cts.Token);
        Assert.False(accept.IsCompleted);
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accept.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task PendingAccept_EndsWhenTheListenerIsDisposed()
    {
        Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));

        Task<Socket> accept = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        listener.Dispose();

        Exception ex = await Assert.ThrowsAnyAsync<Exception>(() => accept.WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.True(ex is ObjectDisposedException or SocketException { SocketErrorCode: SocketError.OperationAborted }, ex.ToString());
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Accept_AfterACancelledAccept_StillWorks()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            using (var cts = new CancellationTokenSource())
            {
                ValueTask<Socket> cancelled = listener.AcceptAsync(cts.Token);
                cts.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.AsTask());
            }

            Task<Socket> accept = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
            using Socket client = await TestSockets.ConnectAsync(target, TestContext.Current.CancellationToken);
            using Socket server = await accept.WaitAsync(HangGuard, TestContext.Current.CancellationToken);

            Assert.True(server.Connected);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Endpoints_OfBothEnds_AreVmciEndPoints()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            Task<Socket> accept = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
            using Socket client = await TestSockets.ConnectAsync(target, TestContext.Current.CancellationToken);
            using Socket server = await accept.WaitAsync(HangGuard, TestContext.Current.CancellationToken);

            var clientRemote = Assert.IsType<VmciEndPoint>(client.RemoteEndPoint);
            var clientLocal = Assert.IsType<VmciEndPoint>(client.LocalEndPoint);
            var serverRemote = Assert.IsType<VmciEndPoint>(server.RemoteEndPoint);
            var serverLocal = Assert.IsType<VmciEndPoint>(server.LocalEndPoint);
            Assert.Equal(target, clientRemote);
            // .NET copies the listener's address to accepted sockets; the kernel knows which CID was dialled.
            Assert.Equal(new VmciEndPoint(VmciCid.Any, target.Port), serverLocal);
            Assert.Equal(new VmciEndPoint(VmciCid.Local, target.Port), VmciSocket.GetLocalEndPoint(server));
            Assert.Equal(clientLocal, VmciSocket.GetLocalEndPoint(client));
            Assert.Equal(VmciCid.Local, serverRemote.Cid);
            Assert.Equal(clientLocal.Port, serverRemote.Port);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task AcceptedSocket_InheritsTheListenersBufferSize()
    {
        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any), configure: s => s.SetVmciBufferSize(1 << 20));
        var target = new VmciEndPoint(VmciCid.Local, ((VmciEndPoint)listener.LocalEndPoint!).Port);

        Task<Socket> accept = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        using Socket client = await TestSockets.ConnectAsync(target, TestContext.Current.CancellationToken);
        using Socket server = await accept.WaitAsync(HangGuard, TestContext.Current.CancellationToken);

        Assert.Equal(1ul << 20, server.GetVmciBufferSize());
        Assert.Equal(262_144ul, client.GetVmciBufferSize());
    }
}

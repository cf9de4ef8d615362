using System;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[CollectionDefinition(nameof(ResourceTests), DisableParallelization = true)]
public sealed class ResourceTestsDefinition;

/// <summary>Counts this process's socket descriptors, so nothing else may run beside these tests.</summary>
[Trait("Category", "Vsock")]
[Collection(nameof(ResourceTests))]
public sealed class ResourceTests
{
    [VsockFact(VsockNeeds.Loopback)]
    public async Task Connect_WithACancelledToken_LeavesNoSocketOpen()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            int before = FileDescriptors.Count();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TestSockets.ConnectAsync(target, new CancellationToken(canceled: true)).AsTask());

            Assert.Equal(before, FileDescriptors.Count());
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task FailedConnects_LeaveNoSocketOpen()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();
        int before = FileDescriptors.Count();

        for (int i = 0; i < 50; i++)
        {
            await Assert.ThrowsAsync<VmciSocketException>(() => TestSockets.ConnectAsync(closed, TestContext.Current.CancellationToken).AsTask());
        }

        Assert.Equal(before, FileDescriptors.Count());
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ManyConnections_OpenedAndClosed_LeaveNoSocketOpen()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int before = FileDescriptors.Count();
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            for (int round = 0; round < 5; round++)
            {
                Task<Socket[]> accepted = Task.WhenAll(Enumerable.Range(0, 20).Select(_ => listener.AcceptAsync(ct).AsTask()));
                Socket[] clients = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => TestSockets.ConnectAsync(target, ct).AsTask()));
                foreach (Socket s in clients.Concat(await accepted))
                {
                    s.Dispose();
                }
            }
        }

        Assert.Equal(before, FileDescriptors.Count());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void FailedListen_LeavesNoSocketOpen()
    {
        using Socket first = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any));
        var taken = (VmciEndPoint)first.LocalEndPoint!;
        int before = FileDescriptors.Count();

        for (int i = 0; i < 50; i++)
        {
            Assert.Throws<VmciSocketException>(() => VmciSocket.Listen(taken));
        }

        Assert.Equal(before, FileDescriptors.Count());
    }
}

using System;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class ConnectTests
{
    [VsockFact(VsockNeeds.Loopback)]
    public async Task NoListener_IsReportedAsRefused_WithThePort()
    {
        VmciEndPoint target = TestSockets.ClosedLoopbackPort();

        var ex = await Assert.ThrowsAsync<VmciSocketException>(() => TestSockets.ConnectAsync(target, TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
        Assert.Equal(target, ex.EndPoint);
        Assert.Equal(104, ex.PlatformErrorCode); // vsock says ECONNRESET; we say refused
        Assert.Contains($"nothing listens on port {target.Port} at CID 1", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Sandbox)]
    public async Task ACidNoTransportReaches_IsUnreachable_AndSaysWhy()
    {
        // In the loopback-only VM there is no guest transport, so the hypervisor (CID 0) and every CID but
        // 1 and 2 reach nothing. (Linux sends CID 2 to the loopback transport when no guest transport is loaded.)
        foreach (uint cid in new[] { VmciCid.Hypervisor, 3u, 12345u })
        {
            var target = new VmciEndPoint(cid, 5000);

            var ex = await Assert.ThrowsAsync<VmciSocketException>(() => TestSockets.ConnectAsync(target, TestContext.Current.CancellationToken).AsTask());

            Assert.True(ex.SocketErrorCode == SocketError.HostUnreachable && ex.PlatformErrorCode == 19, ex.Message); // ENODEV
            Assert.Contains($"no vsock transport reaches CID {cid}", ex.Message, StringComparison.Ordinal);
        }
    }

    [VsockFact(VsockNeeds.Sandbox)]
    public async Task TheHostCid_IsLoopbackWhenNoGuestTransportIsLoaded()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            using Socket client = await TestSockets.ConnectAsync(new VmciEndPoint(VmciCid.Host, target.Port), TestContext.Current.CancellationToken);

            Assert.True(client.Connected);
        }
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Connect_ToAListener_Succeeds_WithACustomConnectTimeout()
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        using (listener)
        {
            using Socket client = VmciSocket.Create();
            client.SetVmciConnectTimeout(TimeSpan.FromSeconds(5));

            await TestSockets.ConnectAsync(client, target, TestContext.Current.CancellationToken);

            Assert.True(client.Connected);
            Assert.Equal(TimeSpan.FromSeconds(5), client.GetVmciConnectTimeout());
        }
    }
}

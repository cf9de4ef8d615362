using System;
using System.Net.Sockets;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class SocketOptionsTests
{
    [VsockFact(VsockNeeds.AfVsock)]
    public void Defaults_AreLinuxs()
    {
        using Socket socket = VmciSocket.Create();

        Assert.Equal(262_144ul, socket.GetVmciBufferSize());
        Assert.Equal(128ul, socket.GetVmciBufferMinSize());
        Assert.Equal(262_144ul, socket.GetVmciBufferMaxSize());
        Assert.Equal(TimeSpan.FromSeconds(2), socket.GetVmciConnectTimeout());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void BufferSizes_RoundTrip()
    {
        using Socket socket = VmciSocket.Create();

        socket.SetVmciBufferMinSize(4096);
        socket.SetVmciBufferMaxSize(1 << 20);
        socket.SetVmciBufferSize(512 * 1024);

        Assert.Equal(4096ul, socket.GetVmciBufferMinSize());
        Assert.Equal(1ul << 20, socket.GetVmciBufferMaxSize());
        Assert.Equal(512ul * 1024, socket.GetVmciBufferSize());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void SetBufferSize_AboveMax_RaisesMaxFirst()
    {
        using Socket socket = VmciSocket.Create();

        socket.SetVmciBufferSize(4 << 20);

        Assert.Equal(4ul << 20, socket.GetVmciBufferSize());
        Assert.Equal(4ul << 20, socket.GetVmciBufferMaxSize());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void SetBufferSize_BelowMin_LowersMinFirst()
    {
        using Socket socket = VmciSocket.Create();

        socket.SetVmciBufferSize(64);

        Assert.Equal(64ul, socket.GetVmciBufferSize());
        Assert.Equal(64ul, socket.GetVmciBufferMinSize());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void KernelClamping_IsWhatTheRawOptionsDo()
    {
        // The reason SetVmciBufferSize moves max first: on its own, the kernel clamps silently.
        using Socket socket = VmciSocket.Create();

        socket.SetVmciBufferMaxSize(300_000);
        socket.SetVmciBufferMaxSize(200_000);

        Assert.Equal(200_000ul, socket.GetVmciBufferSize());
    }

    [VsockTheory(VsockNeeds.AfVsock)]
    [InlineData(1500)]
    [InlineData(10_000)]
    [InlineData(60_000)]
    public void ConnectTimeout_RoundTrips(int milliseconds)
    {
        using Socket socket = VmciSocket.Create();

        socket.SetVmciConnectTimeout(TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), socket.GetVmciConnectTimeout());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void ConnectTimeout_JustBelowAWholeSecond_RoundsUpWithoutOverflowingMicroseconds()
    {
        using Socket socket = VmciSocket.Create();

        // 2.9999991 s: rounding up to whole microseconds gives 3 s, not 2 s + 1,000,000 us (ERANGE).
        socket.SetVmciConnectTimeout(TimeSpan.FromTicks(29_999_991));

        Assert.Equal(TimeSpan.FromSeconds(3), socket.GetVmciConnectTimeout());
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void VmciOnlyOptions_SayTheyNeedTheVmciTransport()
    {
        Assert.SkipWhen(VsockEnvironment.HasVmciTransport, "the VMCI transport is loaded here");
        using Socket socket = VmciSocket.Create();

        var peer = Assert.Throws<VmciSocketException>(() => socket.GetVmciPeerHostVmId());
        var trusted = Assert.Throws<VmciSocketException>(() => socket.GetVmciTrusted());

        Assert.Equal(SocketError.ProtocolOption, peer.SocketErrorCode);
        Assert.Contains("SO_VM_SOCKETS_PEER_HOST_VM_ID", peer.Message, StringComparison.Ordinal);
        Assert.Contains("only VMware's VMCI transport has it", peer.Message, StringComparison.Ordinal);
        Assert.Contains("SO_VM_SOCKETS_TRUSTED", trusted.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void Listen_ConfigureSetsOptionsOnTheListener()
    {
        using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any), configure: s => s.SetVmciBufferSize(1 << 20));

        Assert.Equal(1ul << 20, listener.GetVmciBufferSize());
    }
}

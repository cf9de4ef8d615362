using System;
using System.Net.Sockets;
using Vmci.Testing;
using Xunit;

namespace Vmci.Native.Tests;

[Trait("Category", "Vsock")]
public sealed class SocketCreationTests
{
    [VsockFact(VsockNeeds.AfVsock)]
    public void Create_Stream_IsAnOrdinaryUnconnectedSocket()
    {
        using Socket socket = VmciSocket.Create();

        Assert.Equal(SocketType.Stream, socket.SocketType);
        Assert.False(socket.Connected);
        Assert.Null(socket.LocalEndPoint);
        Assert.Null(socket.RemoteEndPoint);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void Create_SeqPacket_Works()
    {
        using Socket socket = VmciSocket.Create(SocketType.Seqpacket);

        Assert.Equal(SocketType.Seqpacket, socket.SocketType);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void Create_SetsCloseOnExec()
    {
        using Socket socket = VmciSocket.Create();

        // /proc/self/fdinfo/N has "flags: 0NNNNNNN" in octal; O_CLOEXEC is 02000000.
        string fdinfo = System.IO.File.ReadAllText($"/proc/self/fdinfo/{socket.SafeHandle.DangerousGetHandle()}");
        string flagsLine = Array.Find(fdinfo.Split('\n'), l => l.StartsWith("flags:", StringComparison.Ordinal))!;
        long flags = Convert.ToInt64(flagsLine["flags:".Length..].Trim(), 8);
        Assert.NotEqual(0, flags & 0x80000);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void Create_Datagram_FailsClearlyWithoutTheVmciTransport()
    {
        Assert.SkipWhen(VsockEnvironment.HasVmciTransport, "the VMCI transport is loaded here, and it has datagram sockets");

        var ex = Assert.Throws<VmciSocketException>(() => VmciSocket.Create(SocketType.Dgram));

        Assert.Equal(SocketError.SocketNotSupported, ex.SocketErrorCode);
        Assert.Contains("datagram sockets are implemented only by VMware's VMCI transport", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Use a stream socket", ex.Message, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public void LocalCid_IsAssignedAndReadFresh()
    {
        uint first = VmciPlatform.GetLocalCid();
        uint second = VmciPlatform.GetLocalCid();

        Assert.NotEqual(VmciCid.Any, first);
        Assert.Equal(first, second);
        if (VsockEnvironment.InSandbox)
        {
            // The sandbox VM has only the loopback transport, whose CID is VMADDR_CID_LOCAL.
            Assert.Equal(VmciCid.Local, first);
        }
    }

    [Fact]
    public void IsSupported_AgreesWithCreate()
    {
        if (VmciPlatform.IsSupported)
        {
            using Socket socket = VmciSocket.Create();
            Assert.NotNull(socket);
        }
        else
        {
            var ex = Assert.ThrowsAny<Exception>(() => VmciSocket.Create());
            Assert.True(ex is PlatformNotSupportedException or VmciSocketException { SocketErrorCode: SocketError.AddressFamilyNotSupported });
        }
    }
}

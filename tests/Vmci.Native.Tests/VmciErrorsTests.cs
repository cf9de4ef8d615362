using System;
using System.Net.Sockets;
using Xunit;

namespace Vmci.Native.Tests;

public sealed class VmciErrorsTests
{
    private static readonly VmciEndPoint Loopback80 = new(VmciCid.Local, 80);

    [Theory]
    [InlineData("CreateStream", 97, SocketError.AddressFamilyNotSupported, "AF_VSOCK is not available")]
    [InlineData("CreateDatagram", 19, SocketError.SocketNotSupported, "only by VMware's VMCI transport")]
    [InlineData("CreateSeqPacket", 94, SocketError.SocketNotSupported, "no loaded vsock transport supports seqpacket")]
    [InlineData("Bind", 13, SocketError.AccessDenied, "needs CAP_NET_BIND_SERVICE")]
    [InlineData("Bind", 98, SocketError.AddressAlreadyInUse, "already bound to port 80")]
    [InlineData("Bind", 99, SocketError.AddressNotAvailable, "CID 1 is not a CID of this machine")]
    [InlineData("Connect", 104, SocketError.ConnectionRefused, "nothing listens on port 80 at CID 1")]
    [InlineData("Connect", 111, SocketError.ConnectionRefused, "nothing listens on port 80 at CID 1")]
    [InlineData("Connect", 110, SocketError.TimedOut, "did not answer within the connect timeout")]
    [InlineData("Connect", 19, SocketError.HostUnreachable, "is the vsock_loopback module loaded?")]
    [InlineData("GetOption", 92, SocketError.ProtocolOption, "only VMware's VMCI transport has it")]
    [InlineData("GetLocalCid", 2, SocketError.AddressFamilyNotSupported, "there is no /dev/vsock")]
    [InlineData("GetLocalCid", 6, SocketError.AddressFamilyNotSupported, "no vsock driver answers it")]
    [InlineData("GetLocalCid", 13, SocketError.AccessDenied, "read access to /dev/vsock")]
    public void FromErrno_NamesCauseAndFix(string operation, int errno, SocketError expectedError, string expectedText)
    {
        VmciSocketException ex = VmciErrors.FromErrno(errno, Enum.Parse<VmciOperation>(operation), Loopback80, option: "SO_X");

        Assert.Equal(expectedError, ex.SocketErrorCode);
        Assert.Equal(errno, ex.PlatformErrorCode);
        Assert.Contains(expectedText, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"errno {errno}", ex.Message, StringComparison.Ordinal);
        Assert.Same(Loopback80, ex.EndPoint);
    }

    [Theory]
    [InlineData(1, "EPERM, errno 1")]
    [InlineData(13, "EACCES, errno 13")]
    public void FromSocketException_KeepsTheThreadsErrno_WhereDotNetMergesTwo(int errno, string expectedText)
    {
        // .NET reports EPERM and EACCES alike (AccessDenied, native code 13); the thread's errno tells them apart.
        var dotnet = new SocketException((int)SocketError.AccessDenied);

        VmciSocketException ex = VmciErrors.FromSocketException(dotnet, VmciOperation.Bind, new VmciEndPoint(VmciCid.Any, 5001), threadErrno: errno);

        Assert.Equal(errno, ex.PlatformErrorCode);
        Assert.Contains(expectedText, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromSocketException_IgnoresAThreadErrnoThatDisagreesWithDotNet()
    {
        // A stale errno from some earlier call must not replace what .NET saw (address in use).
        var dotnet = new SocketException((int)SocketError.AddressAlreadyInUse);

        VmciSocketException ex = VmciErrors.FromSocketException(dotnet, VmciOperation.Bind, new VmciEndPoint(VmciCid.Any, 5001), threadErrno: 13);

        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
        Assert.Equal(98, ex.PlatformErrorCode);
    }

    [Theory]
    [InlineData(VmciCid.Host, "the host")]
    [InlineData(VmciCid.Hypervisor, "the host")]
    [InlineData(42u, "no vsock transport reaches CID 42")]
    public void Unreachable_ExplainsPerKindOfCid(uint cid, string expectedText)
    {
        var target = new VmciEndPoint(cid, 5000);

        VmciSocketException ex = VmciErrors.FromErrno(19, VmciOperation.Connect, target);

        Assert.Equal(SocketError.HostUnreachable, ex.SocketErrorCode);
        Assert.StartsWith($"Connecting to {target} failed:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedText, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    public void Bind_DeniedAboveThePrivilegedRange_DoesNotBlameTheCapability(int errno)
    {
        var endPoint = new VmciEndPoint(VmciCid.Any, 5001);

        VmciSocketException ex = VmciErrors.FromErrno(errno, VmciOperation.Bind, endPoint);

        Assert.Equal(SocketError.AccessDenied, ex.SocketErrorCode);
        Assert.StartsWith("Binding vsock://any:5001 failed: binding port 5001 was refused by a policy on this machine", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("below 1024", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromErrno_UnknownCombination_FallsBackToTheSystemsText()
    {
        VmciSocketException ex = VmciErrors.FromErrno(Interop.Errno.EINVAL, VmciOperation.Listen, Loopback80);

        Assert.StartsWith("Listening on vsock://1:80 failed: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid argument", ex.Message, StringComparison.Ordinal);
        Assert.Contains("EINVAL, errno 22", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromSocketException_KeepsTheErrnoDotNetReported()
    {
        // .NET's socket layer raises SocketExceptions whose NativeErrorCode is the Linux errno.
        var fromRuntime = new SocketException((int)SocketError.ConnectionReset);

        VmciSocketException ex = VmciErrors.FromSocketException(fromRuntime, VmciOperation.Connect, Loopback80);

        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
        Assert.Equal(Interop.Errno.ECONNRESET, ex.PlatformErrorCode);
    }

    [Fact]
    public void FromSocketException_AnErrnoDotNetDoesNotKnow_OnConnect_IsENODEV()
    {
        // ENODEV has no SocketError, so .NET reports SocketError.SocketError and loses the errno.
        var fromRuntime = new SocketException((int)SocketError.SocketError);

        VmciSocketException ex = VmciErrors.FromSocketException(fromRuntime, VmciOperation.Connect, new VmciEndPoint(7, 80));

        Assert.Equal(SocketError.HostUnreachable, ex.SocketErrorCode);
        Assert.Equal(Interop.Errno.ENODEV, ex.PlatformErrorCode);
        Assert.Contains("no vsock transport reaches CID 7", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromSocketException_AnErrnoDotNetDoesNotKnow_Elsewhere_KeepsDotNetsText()
    {
        var fromRuntime = new SocketException((int)SocketError.SocketError, "something odd");

        VmciSocketException ex = VmciErrors.FromSocketException(fromRuntime, VmciOperation.Listen, Loopback80);

        Assert.Equal(SocketError.SocketError, ex.SocketErrorCode);
        Assert.Equal("Listening on vsock://1:80 failed: something odd.", ex.Message);
    }

    [Fact]
    public void FromSocketException_DoesNotWrapTwice()
    {
        VmciSocketException first = VmciErrors.FromErrno(98, VmciOperation.Bind, Loopback80);

        Assert.Same(first, VmciErrors.FromSocketException(first, VmciOperation.Listen, Loopback80));
    }
}

using System;
using System.Net.Sockets;
using Xunit;

namespace Vmci.Native.Tests;

/// <summary>Arguments are checked before anything reaches the kernel, so a TCP socket serves.</summary>
public sealed class ArgumentValidationTests
{
    [Fact]
    public void SetVmciBufferSize_Zero_IsRejected()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        Assert.Throws<ArgumentOutOfRangeException>(() => socket.SetVmciBufferSize(0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void SetVmciConnectTimeout_NotPositive_IsRejected(int milliseconds)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        Assert.Throws<ArgumentOutOfRangeException>(() => socket.SetVmciConnectTimeout(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void SetVmciConnectTimeout_TooLong_IsRejected()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        Assert.Throws<ArgumentOutOfRangeException>(() => socket.SetVmciConnectTimeout(VmciSocketOptions.MaxConnectTimeout + TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.SetVmciConnectTimeout(System.Threading.Timeout.InfiniteTimeSpan));
    }

    [Theory]
    [InlineData(SocketType.Raw)]
    [InlineData(SocketType.Rdm)]
    [InlineData(SocketType.Unknown)]
    public void Create_OtherSocketTypes_AreRejected(SocketType type)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => VmciSocket.Create(type));

        Assert.Contains("Stream, Seqpacket or Dgram", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listen_BadArguments_AreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => VmciSocket.Listen(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any), backlog: 0));
    }
}

using System;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Vmci.Native.Tests;

public sealed class VmciEndPointTests
{
    [Fact]
    public void Serialize_WritesSockaddrVmInHostOrder()
    {
        var endPoint = new VmciEndPoint(0x0102_0304, 0x0A0B_0C0D, VmciEndPointFlags.ToHost);

        SocketAddress address = endPoint.Serialize();

        Assert.Equal(16, address.Size);
        Span<byte> bytes = address.Buffer.Span[..16];
        Assert.Equal(40, BitConverter.ToUInt16(bytes[0..2]));
        Assert.Equal(0, BitConverter.ToUInt16(bytes[2..4]));
        Assert.Equal(0x0A0B_0C0Du, BitConverter.ToUInt32(bytes[4..8]));
        Assert.Equal(0x0102_0304u, BitConverter.ToUInt32(bytes[8..12]));
        Assert.Equal(1, bytes[12]);
        Assert.Equal(new byte[3], bytes[13..16].ToArray());
    }

    [Theory]
    [InlineData(0u, 0u)]
    [InlineData(1u, 1024u)]
    [InlineData(3u, 8080u)]
    [InlineData(VmciCid.Any, VmciPort.Any)]
    [InlineData(uint.MaxValue - 1, 1u)]
    public void CreateOfSerialize_RoundTrips(uint cid, uint port)
    {
        var endPoint = new VmciEndPoint(cid, port);

        EndPoint copy = endPoint.Create(endPoint.Serialize());

        Assert.Equal(endPoint, copy);
        Assert.NotSame(endPoint, copy);
    }

    [Fact]
    public void Create_RejectsAnotherFamily()
    {
        SocketAddress ipv4 = new IPEndPoint(IPAddress.Loopback, 80).Serialize();

        var ex = Assert.Throws<ArgumentException>(() => new VmciEndPoint(1, 1).Create(ipv4));

        Assert.Contains("not AF_VSOCK", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RejectsAShortAddress()
    {
        var address = new SocketAddress(AddressFamily.Unspecified, 8);
        address[0] = 40;

        var ex = Assert.Throws<ArgumentException>(() => new VmciEndPoint(1, 1).Create(address));

        Assert.Contains("16 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_IgnoresFlagBitsLinuxDoesNotDefine()
    {
        SocketAddress address = new VmciEndPoint(5, 6).Serialize();
        address[12] = 0xFF;

        var copy = (VmciEndPoint)new VmciEndPoint(1, 1).Create(address);

        Assert.Equal(VmciEndPointFlags.ToHost, copy.Flags);
    }

    [Fact]
    public void Constructor_RejectsUndefinedFlags()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VmciEndPoint(1, 1, (VmciEndPointFlags)0x02));
    }

    [Fact]
    public void Equality_ComparesCidPortAndFlags()
    {
        var a = new VmciEndPoint(3, 80);

        Assert.Equal(a, new VmciEndPoint(3, 80));
        Assert.Equal(a.GetHashCode(), new VmciEndPoint(3, 80).GetHashCode());
        Assert.NotEqual(a, new VmciEndPoint(4, 80));
        Assert.NotEqual(a, new VmciEndPoint(3, 81));
        Assert.NotEqual(a, new VmciEndPoint(3, 80, VmciEndPointFlags.ToHost));
        Assert.False(a.Equals((object?)null));
        Assert.False(a.Equals(new IPEndPoint(IPAddress.Loopback, 80)));
    }

    [Theory]
    [InlineData(3u, 8080u, "vsock://3:8080")]
    [InlineData(VmciCid.Any, 8080u, "vsock://any:8080")]
    [InlineData(1u, VmciPort.Any, "vsock://1:any")]
    [InlineData(0u, 0u, "vsock://0:0")]
    public void ToString_IsTheUriForm(uint cid, uint port, string expected)
    {
        Assert.Equal(expected, new VmciEndPoint(cid, port).ToString());
    }

    [Fact]
    public void AddressFamily_IsUnknownSoThatSocketAcceptsIt()
    {
        Assert.Equal(AddressFamily.Unknown, new VmciEndPoint(1, 1).AddressFamily);
        Assert.Equal((AddressFamily)40, VmciPlatform.AddressFamily);
    }

    [Theory]
    [InlineData(0u, true)]
    [InlineData(1023u, true)]
    [InlineData(1024u, false)]
    [InlineData(VmciPort.Any, false)]
    public void IsPrivilegedPort_MeansBelow1024(uint port, bool expected)
    {
        Assert.Equal(expected, new VmciEndPoint(3, port).IsPrivilegedPort);
    }
}

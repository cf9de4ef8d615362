using System;
using System.Net.Sockets;
using Xunit;

namespace Vmci.Native.Tests;

/// <summary>NOTIFY_SOCKET's vsock forms as systemd's socket_address_parse_vsock reads them, and the strings a VMM passes.</summary>
public sealed class VmciNotifyAddressTests
{
    [Theory]
    [InlineData("vsock:2:8888", 2u, 8888u, null)]
    [InlineData("vsock-stream:2:8888", 2u, 8888u, SocketType.Stream)]
    [InlineData("vsock-seqpacket:3:1", 3u, 1u, SocketType.Seqpacket)]
    [InlineData("vsock-dgram:1:0", 1u, 0u, SocketType.Dgram)]
    [InlineData("vsock:host:5", VmciCid.Host, 5u, null)]
    [InlineData("vsock-stream:local:5", VmciCid.Local, 5u, SocketType.Stream)]
    [InlineData("vsock:hypervisor:5", VmciCid.Hypervisor, 5u, null)]
    [InlineData("vsock:4294967294:4294967294", 4294967294u, 4294967294u, null)]
    public void Parse_ReadsSystemdsForms(string text, uint cid, uint port, SocketType? type)
    {
        VmciNotifyAddress address = VmciNotifyAddress.Parse(text);

        Assert.Equal(new VmciEndPoint(cid, port), address.EndPoint);
        Assert.Equal(type, address.SocketType);
        Assert.True(VmciNotifyAddress.IsVsockForm(text));
        Assert.Equal(address, VmciNotifyAddress.Parse(address.ToString()));
    }

    [Theory]
    [InlineData("vsock::8888", "the CID '' is empty")]
    [InlineData("vsock:any:8888", "'any', which names no receiver")]
    [InlineData("vsock:-1:8888", "'any', which names no receiver")]
    [InlineData("vsock:2:4294967295", "the port '4294967295' is 'any'")]
    [InlineData("vsock:2:", "the port '' is empty")]
    [InlineData("vsock:2", "the port is missing")]
    [InlineData("vsock:2:8x", "the port '8x' is not a number")]
    [InlineData("vsock:two:8", "the CID 'two' is not a number")]
    [InlineData("vsock-stream:2:99999999999", "out of range")]
    [InlineData("vsock://2:8888", "the CID '//2' is not a number")]
    [InlineData("VSOCK:2:8888", "is not a vsock notify address")]
    [InlineData("vsock-udp:2:8888", "is not a vsock notify address")]
    [InlineData("/run/systemd/notify", "is a Unix socket address")]
    [InlineData("@notify", "is a Unix socket address")]
    public void TryParse_RefusesWithTheCause(string text, string cause)
    {
        Assert.False(VmciNotifyAddress.TryParse(text, out VmciNotifyAddress? address, out string? error));
        Assert.Null(address);
        Assert.Contains(cause, error, StringComparison.Ordinal);
        Assert.Contains("vsock-stream:CID:PORT", error, StringComparison.Ordinal);
        FormatException thrown = Assert.Throws<FormatException>(() => VmciNotifyAddress.Parse(text));
        Assert.Equal(error, thrown.Message);
    }

    [Fact]
    public void IsVsockForm_TellsVsockFromUnixPaths()
    {
        Assert.False(VmciNotifyAddress.IsVsockForm(null));
        Assert.False(VmciNotifyAddress.IsVsockForm(""));
        Assert.False(VmciNotifyAddress.IsVsockForm("/run/systemd/notify"));
        Assert.False(VmciNotifyAddress.IsVsockForm("@/org/freedesktop/systemd1/notify"));
        Assert.True(VmciNotifyAddress.IsVsockForm("vsock:garbage"));
    }

    [Fact]
    public void Credentials_AreSystemdsSmbiosAndKernelCommandLineForms()
    {
        var address = new VmciNotifyAddress(new VmciEndPoint(VmciCid.Host, 8888), SocketType.Stream);

        Assert.Equal("vsock-stream:2:8888", address.ToString());
        Assert.Equal("io.systemd.credential:vmm.notify_socket=vsock-stream:2:8888", address.SmbiosCredential);
        Assert.Equal("systemd.set_credential=vmm.notify_socket:vsock-stream:2:8888", address.KernelCommandLineCredential);
        Assert.Equal("vsock:2:8888", new VmciNotifyAddress(new VmciEndPoint(2, 8888)).ToString());
    }

    [Fact]
    public void Constructor_RefusesWhatNamesNoReceiver()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VmciNotifyAddress(new VmciEndPoint(VmciCid.Any, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VmciNotifyAddress(new VmciEndPoint(2, VmciPort.Any)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VmciNotifyAddress(new VmciEndPoint(2, 1, VmciEndPointFlags.ToHost)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VmciNotifyAddress(new VmciEndPoint(2, 1), SocketType.Raw));
    }

    [Fact]
    public async System.Threading.Tasks.Task SendAsync_RefusesMessagesReceiversWouldRefuse_BeforeAnySocket()
    {
        var address = new VmciNotifyAddress(new VmciEndPoint(VmciCid.Host, 1), SocketType.Stream);

        await Assert.ThrowsAsync<ArgumentException>(async () => await VmciNotify.SendAsync(address, "", TestContext.Current.CancellationToken));
        ArgumentException tooLong = await Assert.ThrowsAsync<ArgumentException>(async () => await VmciNotify.SendAsync(address, new string('x', VmciNotify.MaxMessageBytes + 1), TestContext.Current.CancellationToken));
        Assert.Contains("4097 bytes", tooLong.Message, StringComparison.Ordinal);
    }
}

using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Kestrel's address text of vsock listeners, read back (moved from Vmci.Native's endpoint text tests with the parser).</summary>
public sealed class ServerAddressTests
{
    [Theory]
    [InlineData("http://vsock://any:8080", "vsock://any:8080")]
    [InlineData("https://vsock://3:8443", "vsock://3:8443")]
    [InlineData("http://vsock://2:9000?to-host", "vsock://2:9000?to-host")]
    [InlineData("http://hvsock:///run/fc-1.vsock:9000", "hvsock:///run/fc-1.vsock:9000")]
    public void ServerAddresses_AsKestrelReportsThem_ParseBack(string address, string expected)
    {
        Assert.True(VmciServerAddress.TryParse(address, out System.Net.EndPoint? endPoint));

        Assert.Equal(expected, endPoint.ToString());
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://unix:/tmp/app.sock")]
    [InlineData("vsock://any:8080")]
    [InlineData("ftp://vsock://any:8080")]
    [InlineData(null)]
    public void OtherServerAddresses_AreNotVsock(string? address)
    {
        Assert.False(VmciServerAddress.TryParse(address, out _));
    }
}

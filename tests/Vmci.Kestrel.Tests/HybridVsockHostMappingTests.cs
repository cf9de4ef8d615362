using System;
using System.Net;
using System.Net.Http;
using Vmci.Native;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>The to-host flag in HttpClient's cid-N host mapping, and endpoint kinds the client refuses.</summary>
public sealed class HybridVsockHostMappingTests
{
    [Theory]
    [InlineData("cid-3-to-host", 3u)]
    [InlineData("CID-16-TO-HOST", 16u)]
    [InlineData("cid-host-to-host", VmciCid.Host)]
    public void CidHost_WithToHost_SetsTheFlag_AndMapsBack(string host, uint cid)
    {
        VmciEndPoint endPoint = VmciHttp.ResolveCidHost(new DnsEndPoint(host, 8080));

        Assert.Equal(new VmciEndPoint(cid, 8080, VmciEndPointFlags.ToHost), endPoint);
        Assert.Equal(endPoint, VmciHttp.ResolveCidHost(new DnsEndPoint(VmciHttp.CidHostName(endPoint), 8080)));
        Assert.Equal(new VmciEndPoint(3, 1), VmciHttp.ResolveCidHost(new DnsEndPoint(VmciHttp.CidHostName(new VmciEndPoint(3, 1)), 1)));
    }

    [Fact]
    public void CidHost_ToHostAlone_NamesNoCid()
    {
        Assert.Throws<HttpRequestException>(() => VmciHttp.ResolveCidHost(new DnsEndPoint("cid--to-host", 80)));
        Assert.Throws<HttpRequestException>(() => VmciHttp.ResolveCidHost(new DnsEndPoint("to-host", 80)));
    }

    [Fact]
    public void ConnectTo_TakesBothKinds_AndRefusesOthers()
    {
        Assert.NotNull(VmciHttp.ConnectTo(new HybridVsockEndPoint("/run/fc.vsock", 80)));
        Assert.NotNull(VmciHttp.ConnectTo(new VmciEndPoint(3, 80, VmciEndPointFlags.ToHost)));
        var ex = Assert.Throws<ArgumentException>(() => VmciHttp.ConnectTo(new IPEndPoint(IPAddress.Loopback, 80)));
        Assert.Contains("HybridVsockEndPoint (hvsock:///PATH:PORT)", ex.Message, StringComparison.Ordinal);
    }
}

using System;
using System.Net;
using Xunit;

namespace Vmci.Native.Tests;

/// <summary>The one endpoint parser: hybrid vsock (hvsock:///PATH:PORT) and the to-host flag, beside vsock://CID:PORT.</summary>
public sealed class EndPointTextTests
{
    [Theory]
    [InlineData("hvsock:///run/fc-1.vsock:8080", "/run/fc-1.vsock", 8080u)]
    [InlineData("HVSOCK:///run/fc-1.vsock:0", "/run/fc-1.vsock", 0u)]
    [InlineData("hvsock:///a:b/v.sock:52", "/a:b/v.sock", 52u)] // PORT after the last colon
    [InlineData("hvsock:///x:4294967294", "/x", 4294967294u)]
    public void Hvsock_Parses_AndRoundTrips(string text, string path, uint port)
    {
        var endPoint = Assert.IsType<HybridVsockEndPoint>(VmciEndPointParser.Parse(text));

        Assert.Equal(path, endPoint.UdsPath);
        Assert.Equal(port, endPoint.Port);
        Assert.Equal(endPoint, HybridVsockEndPoint.Parse(endPoint.ToString()));
        Assert.Equal(endPoint, VmciEndPointParser.Parse(endPoint.ToString()));
        Assert.True(HybridVsockEndPoint.TryParse(text, out HybridVsockEndPoint? again));
        Assert.Equal(endPoint, again);
    }

    [Fact]
    public void Hvsock_ListenPath_IsPathUnderscorePort()
    {
        var endPoint = new HybridVsockEndPoint("/run/fc-1.vsock", 9000);

        Assert.Equal("/run/fc-1.vsock_9000", endPoint.ListenPath);
        Assert.Equal("hvsock:///run/fc-1.vsock:9000", endPoint.ToString());
    }

    [Theory]
    [InlineData("hvsock://run/fc.vsock:80", "the path is not absolute")]
    [InlineData("hvsock://", "the path is not absolute")]
    [InlineData("hvsock:///run/fc.vsock", "the port is missing")]
    [InlineData("hvsock:///run/fc.vsock:", "the port '' is empty")]
    [InlineData("hvsock:///run/fc.vsock:any", "has no meaning for a hybrid endpoint")]
    [InlineData("hvsock:///run/fc.vsock:-1", "has no meaning for a hybrid endpoint")]
    [InlineData("hvsock:///run/fc.vsock:4294967295", "has no meaning for a hybrid endpoint")]
    [InlineData("hvsock:///run/fc.vsock:4294967296", "the port '4294967296' is out of range")]
    [InlineData("hvsock:///run/fc.vsock:http", "the port 'http' is not a number")]
    [InlineData("hvsock:///:80", "the path '/' names no socket file")]
    [InlineData("hvsock:///run/:80", "the path '/run/' names no socket file")]
    public void Hvsock_SaysWhatIsWrong(string text, string expected)
    {
        Assert.False(VmciEndPointParser.TryParse(text, out EndPoint? result, out string? error));
        Assert.Null(result);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("expected hvsock:///PATH:PORT", error, StringComparison.Ordinal);
        var ex = Assert.Throws<FormatException>(() => HybridVsockEndPoint.Parse(text));
        Assert.Equal(error, ex.Message);
    }

    [Fact]
    public void EachTypesParse_RefusesTheOtherKind_Clearly()
    {
        var vsockAsHybrid = Assert.Throws<FormatException>(() => HybridVsockEndPoint.Parse("vsock://3:80"));
        var hybridAsVsock = Assert.Throws<FormatException>(() => VmciEndPoint.Parse("hvsock:///run/fc.vsock:80"));

        Assert.Contains("is a vsock endpoint, not a hybrid one", vsockAsHybrid.Message, StringComparison.Ordinal);
        Assert.Contains("is a hybrid vsock endpoint", hybridAsVsock.Message, StringComparison.Ordinal);
        Assert.False(VmciEndPoint.TryParse("hvsock:///run/fc.vsock:80", out _));
        Assert.False(HybridVsockEndPoint.TryParse("vsock://3:80", out _));
        Assert.IsType<VmciEndPoint>(VmciEndPointParser.Parse("vsock://3:80"));
    }

    [Fact]
    public void HybridConstructor_RefusesRelativePathsAndAnyPort()
    {
        Assert.Throws<ArgumentException>(() => new HybridVsockEndPoint("run/fc.vsock", 80));
        Assert.Throws<ArgumentException>(() => new HybridVsockEndPoint("", 80));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HybridVsockEndPoint("/run/fc.vsock", VmciPort.Any));
    }

    [Theory]
    [InlineData("vsock://2:8080?to-host", 2u, 8080u)]
    [InlineData("vsock:16:5000?TO-HOST", 16u, 5000u)]
    [InlineData("3:80?to-host", 3u, 80u)]
    [InlineData("vsock://any:any?to-host", VmciCid.Any, VmciPort.Any)]
    public void ToHost_Parses_AndRoundTrips(string text, uint cid, uint port)
    {
        VmciEndPoint endPoint = VmciEndPoint.Parse(text);

        Assert.Equal(new VmciEndPoint(cid, port, VmciEndPointFlags.ToHost), endPoint);
        Assert.EndsWith("?to-host", endPoint.ToString(), StringComparison.Ordinal);
        Assert.Equal(endPoint, VmciEndPoint.Parse(endPoint.ToString()));
        Assert.Equal(endPoint, VmciEndPointParser.Parse(endPoint.ToString()));
        Assert.Equal((byte)VmciEndPointFlags.ToHost, endPoint.Serialize().Buffer.Span[12]);
    }

    [Fact]
    public void WithoutTheFlag_TheTextHasNoOption()
    {
        Assert.Equal("vsock://3:80", new VmciEndPoint(3, 80).ToString());
        Assert.Equal("vsock://3:80?to-host", new VmciEndPoint(3, 80, VmciEndPointFlags.ToHost).ToString());
        Assert.NotEqual(VmciEndPoint.Parse("vsock://3:80"), VmciEndPoint.Parse("vsock://3:80?to-host"));
    }

    [Theory]
    [InlineData("vsock://3:80?", "the option '' is unknown")]
    [InlineData("vsock://3:80?tohost", "the option 'tohost' is unknown")]
    [InlineData("vsock://3:80?to-host&x", "the option 'to-host&x' is unknown")]
    public void UnknownOptions_AreNamed(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => VmciEndPoint.Parse(text));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("?to-host", ex.Message, StringComparison.Ordinal);
    }
}

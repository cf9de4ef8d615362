using System;
using Xunit;

namespace Vmci.Native.Tests;

public sealed class VmciEndPointParserTests
{
    [Theory]
    [InlineData("vsock://3:8080", 3u, 8080u)]
    [InlineData("vsock:3:8080", 3u, 8080u)]
    [InlineData("3:8080", 3u, 8080u)]
    [InlineData("VSOCK://3:8080", 3u, 8080u)]
    [InlineData("vsock://any:any", VmciCid.Any, VmciPort.Any)]
    [InlineData("vsock://ANY:1", VmciCid.Any, 1u)]
    [InlineData("vsock://-1:-1", VmciCid.Any, VmciPort.Any)]
    [InlineData("vsock://local:5", VmciCid.Local, 5u)]
    [InlineData("vsock://host:5", VmciCid.Host, 5u)]
    [InlineData("vsock:hypervisor:5", VmciCid.Hypervisor, 5u)]
    [InlineData("vsock://4294967295:4294967295", uint.MaxValue, uint.MaxValue)]
    [InlineData("vsock://0:0", 0u, 0u)]
    [InlineData("vsock://007:0080", 7u, 80u)]
    public void Parse_AcceptsEveryDocumentedForm(string text, uint cid, uint port)
    {
        VmciEndPoint endPoint = VmciEndPoint.Parse(text);

        Assert.Equal(cid, endPoint.Cid);
        Assert.Equal(port, endPoint.Port);
        Assert.Equal(VmciEndPointFlags.None, endPoint.Flags);
        Assert.True(VmciEndPoint.TryParse(text, out VmciEndPoint? again));
        Assert.Equal(endPoint, again);
    }

    [Theory]
    [InlineData("", "is not a vsock endpoint")]
    [InlineData("vsock://", "is not a vsock endpoint")]
    [InlineData("vsock://3", "is not a vsock endpoint")]
    [InlineData("vsock://:80", "the CID '' is empty")]
    [InlineData("vsock://3:", "the port '' is empty")]
    [InlineData("vsock://x:80", "the CID 'x' is not a number")]
    [InlineData("vsock://3:http", "the port 'http' is not a number")]
    [InlineData("vsock://4294967296:80", "the CID '4294967296' is out of range")]
    [InlineData("vsock://3:99999999999", "the port '99999999999' is out of range")]
    [InlineData("vsock://+3:80", "the CID '+3' is not a number")]
    [InlineData("vsock:// 3:80", "the CID ' 3' is not a number")]
    [InlineData("vsock://3:80 ", "the port '80 ' is not a number")]
    [InlineData("vsock://-2:80", "the CID '-2' is not a number")]
    [InlineData("vsock://0x3:80", "the CID '0x3' is not a number")]
    [InlineData("tcp://3:80", "the CID 'tcp://3' is not a number")]
    [InlineData("vsock://3:80/path", "the port '80/path' is not a number")]
    [InlineData("vsock://1:2:3", "the CID '1:2' is not a number")]
    public void Parse_SaysWhatIsWrong(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => VmciEndPoint.Parse(text));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected vsock://CID:PORT", ex.Message, StringComparison.Ordinal);
        Assert.False(VmciEndPoint.TryParse(text, out VmciEndPoint? result));
        Assert.Null(result);
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => VmciEndPoint.Parse((string)null!));
        Assert.False(VmciEndPoint.TryParse((string?)null, out _));
    }

    [Fact]
    public void ToString_ParsesBackToTheSameEndPoint()
    {
        foreach (var endPoint in new[] { new VmciEndPoint(3, 80), new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciEndPoint(0, 0) })
        {
            Assert.Equal(endPoint, VmciEndPoint.Parse(endPoint.ToString()));
        }
    }

    [Fact]
    public void ISpanParsable_WorksGenerically()
    {
        static T ParseAs<T>(string s) where T : ISpanParsable<T> => T.Parse(s.AsSpan(), null);

        Assert.Equal(new VmciEndPoint(2, 9), ParseAs<VmciEndPoint>("vsock:host:9"));
    }
}

using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

public sealed class BufferBudgetTests
{
    [Fact]
    public void Defaults_Admit204ConnectionsPerCid_TheBudgetOverTheWindowPlusTheReadBuffer()
    {
        var options = new VmciTransportOptions();

        Assert.Equal((4L << 20) + (1L << 20), VmciPeerAdmission.BufferedBytesOf(options));
        Assert.Equal(204, VmciPeerAdmission.ConnectionsPerPeer(options));
    }

    [Theory]
    [InlineData(null, null, 64L << 20, 256 * 1024L, 1L << 20, 51)] // kernel window: 64 MiB / 1.25 MiB
    [InlineData(10, null, 1L << 30, 4L << 20, 1L << 20, 10)] // the explicit count is lower
    [InlineData(null, 1024 * 1024UL, 1L << 30, 4L << 20, 1L << 20, 512)] // BufferMaxSize caps the window
    [InlineData(null, null, 1L, 4L << 20, 1L << 20, 1)] // never fewer than one
    public void TheLowerOfCountAndBudget_Applies(int? count, ulong? bufferMax, long budget, long window, long readBuffer, int expected)
    {
        var options = new VmciTransportOptions
        {
            MaxConnectionsPerPeerCid = count,
            BufferMaxSize = bufferMax,
            BufferSize = window == 256 * 1024L ? null : (ulong)window,
            MaxBufferedBytesPerPeerCid = budget,
            MaxReadBufferSize = readBuffer,
        };

        Assert.Equal(expected, VmciPeerAdmission.ConnectionsPerPeer(options));
    }

    [Fact]
    public void NoBudgetAndNoCount_MeansNoLimit()
    {
        var options = new VmciTransportOptions { MaxBufferedBytesPerPeerCid = null };

        Assert.Null(VmciPeerAdmission.ConnectionsPerPeer(options));
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1024)]
    public void AHugeReadBuffer_SaturatesTheArithmetic_AndTheBudgetStillAdmitsOne(long readBuffer)
    {
        // window + read buffer overflowed to a negative number, which turned the budget off (int.MaxValue connections).
        var options = new VmciTransportOptions { MaxReadBufferSize = readBuffer };

        Assert.Equal(long.MaxValue, VmciPeerAdmission.BufferedBytesOf(options));
        Assert.Equal(1, VmciPeerAdmission.ConnectionsPerPeer(options));
    }
}

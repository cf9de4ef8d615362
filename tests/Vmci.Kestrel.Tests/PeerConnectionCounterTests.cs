using System.Linq;
using System.Threading.Tasks;
using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

public sealed class PeerConnectionCounterTests
{
    [Fact]
    public void CountsUpToTheLimit_AndForgetsACidWithNoConnections()
    {
        var counter = new VmciPeerConnectionCounter<uint>();

        Assert.True(counter.TryAdd(3, 2));
        Assert.True(counter.TryAdd(3, 2));
        Assert.False(counter.TryAdd(3, 2));
        Assert.True(counter.TryAdd(4, 2));
        counter.Release(3);
        Assert.Equal(1, counter.Count(3));
        Assert.True(counter.TryAdd(3, 2));
        counter.Release(3);
        counter.Release(3);
        Assert.Equal(0, counter.Count(3));
        Assert.False(counter.TryAdd(5, 0));
    }

    [Fact]
    public void ConcurrentAddsNeverExceedTheLimit()
    {
        var counter = new VmciPeerConnectionCounter<uint>();

        int admitted = 0;
        Parallel.For(0, 10_000, _ =>
        {
            if (counter.TryAdd(7, 100))
            {
                System.Threading.Interlocked.Increment(ref admitted);
            }
        });
        Parallel.For(0, admitted, _ => counter.Release(7));

        Assert.Equal(100, admitted);
        Assert.Equal(0, counter.Count(7));
    }
}

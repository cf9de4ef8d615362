using System;
using Vmci.Kestrel.Internal;
using Xunit;

namespace Vmci.Kestrel.Tests;

public sealed class LogRateLimitTests
{
    [Fact]
    public void LetsOneThroughPerInterval_AndSaysHowManyItHeldBack()
    {
        var clock = new ManualClock();
        var limit = new VmciLogRateLimit(TimeSpan.FromSeconds(10), clock);

        Assert.True(limit.TryEnter(out long first));
        Assert.Equal(0, first);
        for (int i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.False(limit.TryEnter(out _));
        }

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(limit.TryEnter(out long heldBack));
        Assert.Equal(5, heldBack);
        Assert.False(limit.TryEnter(out _));
    }
}

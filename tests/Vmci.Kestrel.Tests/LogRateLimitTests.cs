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

    [Fact]
    public void RefusalWarnings_HaveOneLimitPerReasonAndPeer_SoOneGuestsLoopHidesNoOtherRefusal()
    {
        var clock = new ManualClock();
        var limits = new VmciRefusalLogLimits(clock);

        // CID 3 reconnects in a loop and is refused for not being allowed: one warning, then held back.
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerCidNotAllowed, 3, out _));
        Assert.False(limits.TryEnter(VmciRejectionReason.PeerCidNotAllowed, 3, out _));

        // Meanwhile another reason for the same CID, the same reason for another CID, and a hybrid VM socket each
        // get their own first warning.
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerConnectionLimit, 3, out _));
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerCidNotAllowed, 4, out _));
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerConnectionLimit, "/run/fc-1.vsock", out _));
        Assert.False(limits.TryEnter(VmciRejectionReason.PeerConnectionLimit, "/run/fc-1.vsock", out _));
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerConnectionLimit, "/run/fc-2.vsock", out _));

        clock.Advance(VmciRefusalLogLimits.Interval);
        Assert.True(limits.TryEnter(VmciRejectionReason.PeerCidNotAllowed, 3, out long heldBack));
        Assert.Equal(1, heldBack);
    }
}

using System;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Tool;

/// <summary>
/// The clock of <c>vmci forward</c>'s --idle-timeout for one pair: when bytes last moved in either direction, and
/// whether a direction holds bytes its destination has not taken yet (a send in progress).
/// </summary>
internal sealed class PairActivity(TimeProvider time)
{
    private long _last = time.GetTimestamp();
    private int _sending;

    /// <summary>A direction read bytes and starts passing them on; the send may wait for a destination that does not read.</summary>
    public void SendStarted()
    {
        Interlocked.Increment(ref _sending);
        Touch();
    }

    /// <summary>The destination took all the bytes of the send.</summary>
    public void SendEnded()
    {
        Interlocked.Decrement(ref _sending);
        Touch();
    }

    /// <summary>
    /// Completes once no bytes have moved for <paramref name="timeout"/> while the pair is stuck: a send is waiting,
    /// or <paramref name="halfOpen"/> says one direction has ended. An idle pair with both directions open and
    /// nothing waiting is checked again a timeout later; traffic in between pushes the check back.
    /// </summary>
    public async Task WhenStalledAsync(TimeSpan timeout, Func<bool> halfOpen, CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan idle = time.GetElapsedTime(Volatile.Read(ref _last));
            if (idle >= timeout && (Volatile.Read(ref _sending) > 0 || halfOpen()))
            {
                return;
            }

            await Task.Delay(idle >= timeout ? timeout : timeout - idle, time, cancellationToken);
        }
    }

    private void Touch() => Volatile.Write(ref _last, time.GetTimestamp());
}

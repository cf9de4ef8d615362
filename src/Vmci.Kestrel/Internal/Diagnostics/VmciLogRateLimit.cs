using System;
using System.Threading;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Lets a repeating log message through at most once per interval and counts the ones it held back, so that
/// a fault that repeats every few milliseconds (out of descriptors) neither floods the log nor goes unseen.
/// </summary>
internal sealed class VmciLogRateLimit(TimeSpan interval, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _next = long.MinValue;
    private long _suppressed;

    /// <summary>True when the message may be logged now; <paramref name="suppressed"/> is how many were held back since the last one.</summary>
    internal bool TryEnter(out long suppressed)
    {
        long now = _time.GetTimestamp();
        long next = Volatile.Read(ref _next);
        long intervalTicks = (long)(interval.TotalSeconds * _time.TimestampFrequency);
        if (now >= next && Interlocked.CompareExchange(ref _next, now + intervalTicks, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}

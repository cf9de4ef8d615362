using System;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Tool;

/// <summary>When bytes last moved through a forwarded pair, in either direction: the clock of the half-open idle timeout.</summary>
internal sealed class PairActivity(TimeProvider time)
{
    private long _last = time.GetTimestamp();

    public void Touch() => Volatile.Write(ref _last, time.GetTimestamp());

    /// <summary>Completes once no bytes have moved for <paramref name="timeout"/>; traffic in between pushes it back.</summary>
    public async Task WhenIdleAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        TimeSpan idle;
        while ((idle = time.GetElapsedTime(Volatile.Read(ref _last))) < timeout)
        {
            await Task.Delay(timeout - idle, time, cancellationToken);
        }
    }
}

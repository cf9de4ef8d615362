using System;
using System.Threading;

namespace Vmci.Kestrel.Tests;

/// <summary>A clock that moves only when a test says so, for rate limits without sleeps.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

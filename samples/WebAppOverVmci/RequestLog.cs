using System;
using System.Collections.Generic;
using System.Threading;

namespace WebAppOverVmci;

/// <summary>How many requests the dashboard served, and who called last.</summary>
public sealed class RequestLog
{
    private const int RecentCapacity = 20;
    private readonly Lock _lock = new();
    private readonly Queue<Caller> _recent = new();
    private long _served;

    public long Served => Interlocked.Read(ref _served);

    public void Record(Caller caller)
    {
        Interlocked.Increment(ref _served);
        lock (_lock)
        {
            if (_recent.Count == RecentCapacity)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(caller);
        }
    }

    /// <summary>The most recent callers, newest first.</summary>
    public Caller[] Recent()
    {
        lock (_lock)
        {
            Caller[] callers = _recent.ToArray();
            Array.Reverse(callers);
            return callers;
        }
    }
}

/// <summary>One request: when, from where (CID and port over vsock, or an IP), what.</summary>
public sealed record Caller(DateTimeOffset At, string Transport, uint? PeerCid, uint? PeerPort, string? RemoteAddress, string Method, string Path, string Protocol);

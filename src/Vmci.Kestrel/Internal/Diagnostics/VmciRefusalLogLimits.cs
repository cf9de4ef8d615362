using System;
using System.Collections.Concurrent;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The rate limits of the refused-connection warnings, one per reason and peer (a CID, or a hybrid VM socket):
/// a guest that reconnects in a loop gets one warning per interval with the count held back, and cannot hide
/// another peer's refusals. The metric still counts every refusal.
/// </summary>
internal sealed class VmciRefusalLogLimits(TimeProvider? time)
{
    /// <summary>As for accept failures: one message per 10 seconds per kind.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    // Peers are few (CIDs are the hypervisor's to hand out, VM sockets the configuration's), but the table is
    // bounded anyway: past this many, the peers that are not in it share one limit per reason.
    private const int MaxPeers = 1024;

    private readonly ConcurrentDictionary<(VmciRejectionReason Reason, uint Cid, string? VmSocket), VmciLogRateLimit> _limits = new();
    private readonly ConcurrentDictionary<VmciRejectionReason, VmciLogRateLimit> _overflow = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    internal bool TryEnter(VmciRejectionReason reason, uint cid, out long suppressed) => Limit((reason, cid, null)).TryEnter(out suppressed);

    internal bool TryEnter(VmciRejectionReason reason, string vmSocket, out long suppressed) => Limit((reason, 0, vmSocket)).TryEnter(out suppressed);

    private VmciLogRateLimit Limit((VmciRejectionReason Reason, uint Cid, string? VmSocket) key)
    {
        if (_limits.TryGetValue(key, out VmciLogRateLimit? limit))
        {
            return limit;
        }

        return _limits.Count < MaxPeers
            ? _limits.GetOrAdd(key, _ => new VmciLogRateLimit(Interval, _time))
            : _overflow.GetOrAdd(key.Reason, _ => new VmciLogRateLimit(Interval, _time));
    }
}

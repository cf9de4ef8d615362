using System;
using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Who may connect, and how many at once: the per-peer rules of <see cref="VmciTransportOptions"/> (allowed CIDs,
/// privileged ports, the connection count and the buffer budget per peer), their arithmetic, the counters and the
/// refusal logs. One per server, so that a peer's limit covers all of the server's endpoints together.
/// </summary>
/// <remarks>
/// A vsock peer is its CID. A hybrid vsock peer is the VM that owns the Unix socket (<c>uds_path</c>): the
/// hypervisor says neither CID nor port, but every connection on any <c>uds_path_PORT</c> comes from that VM, so
/// the count and the budget apply to it; the allowed CIDs and privileged ports cannot.
/// </remarks>
internal sealed class VmciPeerAdmission
{
    /// <summary>The kernel's default vsock window, which applies when <see cref="VmciTransportOptions.BufferSize"/> is null.</summary>
    internal const ulong KernelDefaultBufferSize = 256 * 1024;

    private readonly FrozenSet<uint> _allowedPeerCids;
    private readonly bool _requirePrivilegedPeerPort;
    private readonly int? _limit;
    private readonly bool _limitIsBudget;
    private readonly long _budget;
    private readonly VmciPeerConnectionCounter<uint> _cids = new();
    private readonly VmciPeerConnectionCounter<string> _vmSockets = new(StringComparer.Ordinal);
    private readonly VmciRefusalLogLimits _logLimits;
    private readonly VmciTransportMetrics? _metrics;
    private readonly ILogger _logger;

    internal VmciPeerAdmission(VmciTransportOptions options, VmciTransportMetrics? metrics, ILogger logger, TimeProvider? time = null)
    {
        _allowedPeerCids = options.AllowedPeerCids.ToFrozenSet();
        _requirePrivilegedPeerPort = options.RequirePrivilegedPeerPort;
        BufferedBytesPerConnection = BufferedBytesOf(options);
        _limit = ConnectionsPerPeer(options);
        // Which option set the limit, for the log: the explicit count, or the buffer budget.
        _limitIsBudget = _limit != options.MaxConnectionsPerPeerCid;
        _budget = options.MaxBufferedBytesPerPeerCid ?? 0;
        _logLimits = new VmciRefusalLogLimits(time);
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>What one connection can make the server hold: its vsock window plus its read buffer.</summary>
    internal long BufferedBytesPerConnection { get; }

    /// <summary>The connections one peer may have open; null when nothing limits them.</summary>
    internal int? ConnectionsPerPeerLimit => _limit;

    /// <summary>
    /// What one connection can make the server hold: its vsock window (<see cref="VmciTransportOptions.BufferSize"/>,
    /// capped by <see cref="VmciTransportOptions.BufferMaxSize"/>) plus its read buffer; saturates at
    /// <see cref="long.MaxValue"/> rather than overflow (which would turn the budget off).
    /// </summary>
    internal static long BufferedBytesOf(VmciTransportOptions options)
    {
        ulong window = options.BufferSize ?? KernelDefaultBufferSize;
        if (options.BufferMaxSize is ulong max)
        {
            window = Math.Min(window, max);
        }

        long windowBytes = (long)Math.Min(window, (ulong)long.MaxValue);
        long readBuffer = Math.Max(0, options.MaxReadBufferSize ?? 0);
        return windowBytes > long.MaxValue - readBuffer ? long.MaxValue : windowBytes + readBuffer;
    }

    /// <summary>
    /// The connections one peer may have open: <see cref="VmciTransportOptions.MaxConnectionsPerPeerCid"/> and what
    /// <see cref="VmciTransportOptions.MaxBufferedBytesPerPeerCid"/> allows (never fewer than one), whichever is lower;
    /// null when neither limits.
    /// </summary>
    internal static int? ConnectionsPerPeer(VmciTransportOptions options)
    {
        int? byBudget = options.MaxBufferedBytesPerPeerCid is long budget
            ? (int)Math.Clamp(budget / Math.Max(1, BufferedBytesOf(options)), 1, int.MaxValue)
            : null;
        return (options.MaxConnectionsPerPeerCid, byBudget) switch
        {
            (int a, int b) => Math.Min(a, b),
            (int a, null) => a,
            (null, int b) => b,
            _ => null,
        };
    }

    /// <summary>
    /// Admits a vsock connection or refuses it (logged, rate-limited per reason and CID, and counted). An admitted
    /// connection holds <paramref name="slot"/> (null when no limit counts) until it is released.
    /// </summary>
    internal bool TryAdmit(VmciEndPoint remote, VmciEndPoint local, out VmciPeerSlot? slot)
    {
        slot = null;
        uint cid = remote.Cid;
        if (_allowedPeerCids.Count > 0 && !_allowedPeerCids.Contains(cid))
        {
            if (_logLimits.TryEnter(VmciRejectionReason.PeerCidNotAllowed, cid, out long suppressed))
            {
                VmciTransportLog.PeerRejected(_logger, remote, local, cid, suppressed);
            }

            _metrics?.Rejected(VmciRejectionReason.PeerCidNotAllowed, cid);
            return false;
        }

        if (_requirePrivilegedPeerPort && !remote.IsPrivilegedPort)
        {
            if (_logLimits.TryEnter(VmciRejectionReason.PeerPortNotPrivileged, cid, out long suppressed))
            {
                VmciTransportLog.PeerPortNotPrivileged(_logger, remote, local, suppressed);
            }

            _metrics?.Rejected(VmciRejectionReason.PeerPortNotPrivileged, cid);
            return false;
        }

        if (_limit is not int limit)
        {
            return true;
        }

        if (!_cids.TryAdd(cid, limit))
        {
            VmciRejectionReason reason = _limitIsBudget ? VmciRejectionReason.PeerBufferBudget : VmciRejectionReason.PeerConnectionLimit;
            if (_logLimits.TryEnter(reason, cid, out long suppressed))
            {
                if (_limitIsBudget)
                {
                    VmciTransportLog.PeerBufferBudget(_logger, remote, local, cid, limit, BufferedBytesPerConnection, _budget, suppressed);
                }
                else
                {
                    VmciTransportLog.PeerConnectionLimit(_logger, remote, local, cid, limit, suppressed);
                }
            }

            _metrics?.Rejected(reason, cid);
            return false;
        }

        slot = new VmciPeerSlot(() => _cids.Release(cid));
        return true;
    }

    /// <summary>
    /// Admits a connection through a VM's hybrid vsock socket, counted per VM socket (<see cref="HybridVsockEndPoint.UdsPath"/>)
    /// over all its ports, or refuses it as <see cref="TryAdmit(VmciEndPoint, VmciEndPoint, out VmciPeerSlot?)"/> does.
    /// </summary>
    internal bool TryAdmit(HybridVsockEndPoint endPoint, out VmciPeerSlot? slot)
    {
        slot = null;
        if (_limit is not int limit)
        {
            return true;
        }

        string vm = endPoint.UdsPath;
        if (!_vmSockets.TryAdd(vm, limit))
        {
            VmciRejectionReason reason = _limitIsBudget ? VmciRejectionReason.PeerBufferBudget : VmciRejectionReason.PeerConnectionLimit;
            if (_logLimits.TryEnter(reason, vm, out long suppressed))
            {
                if (_limitIsBudget)
                {
                    VmciTransportLog.HybridPeerBufferBudget(_logger, endPoint, vm, limit, BufferedBytesPerConnection, _budget, suppressed);
                }
                else
                {
                    VmciTransportLog.HybridPeerConnectionLimit(_logger, endPoint, vm, limit, suppressed);
                }
            }

            _metrics?.Rejected(reason, peerCid: null);
            return false;
        }

        slot = new VmciPeerSlot(() => _vmSockets.Release(vm));
        return true;
    }
}

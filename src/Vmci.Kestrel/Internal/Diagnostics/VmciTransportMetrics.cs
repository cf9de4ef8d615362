using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The transport's own metrics (meter <c>Vmci.Kestrel</c>): every connection it closes before Kestrel sees
/// it, counted with the reason and the peer's CID, so that a refused guest shows on a dashboard, not only
/// in a log line. Kestrel's own metrics count the connections it does see.
/// </summary>
internal sealed class VmciTransportMetrics
{
    internal const string MeterName = "Vmci.Kestrel";
    internal const string RejectedConnections = "vmci.kestrel.rejected_connections";
    internal const string ReasonTag = "vmci.rejection.reason";
    internal const string PeerCidTag = "vsock.peer.cid";

    private readonly Counter<long> _rejected;

    internal VmciTransportMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(MeterName);
        _rejected = meter.CreateCounter<long>(RejectedConnections, "{connection}", "Connections the vsock transport closed before reading a byte, by reason.");
    }

    internal void Rejected(VmciRejectionReason reason, uint? peerCid)
    {
        if (!_rejected.Enabled)
        {
            return;
        }

        var reasonTag = new KeyValuePair<string, object?>(ReasonTag, Name(reason));
        if (peerCid is uint cid)
        {
            _rejected.Add(1, reasonTag, new KeyValuePair<string, object?>(PeerCidTag, (long)cid));
        }
        else
        {
            _rejected.Add(1, reasonTag);
        }
    }

    internal static string Name(VmciRejectionReason reason) => reason switch
    {
        VmciRejectionReason.PeerCidNotAllowed => "peer_cid_not_allowed",
        VmciRejectionReason.PeerPortNotPrivileged => "peer_port_not_privileged",
        VmciRejectionReason.PeerConnectionLimit => "peer_connection_limit",
        VmciRejectionReason.PeerBufferBudget => "peer_buffer_budget",
        VmciRejectionReason.ResetBeforeAccept => "reset_before_accept",
        _ => "setup_failed",
    };
}

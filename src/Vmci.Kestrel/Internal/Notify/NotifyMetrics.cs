using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The notify receiver's counter (meter <c>Vmci.Kestrel</c>): every message it refused, with the reason and,
/// where known, the sender's CID, so that a misbehaving guest shows on a dashboard and not only in a log line.
/// </summary>
internal sealed class NotifyMetrics
{
    internal const string RejectedMessages = "vmci.notify.rejected_messages";
    internal const string ReasonTag = "vmci.notify.reason";

    private readonly Counter<long> _rejected;

    internal NotifyMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(VmciTransportMetrics.MeterName);
        _rejected = meter.CreateCounter<long>(RejectedMessages, "{message}", "sd_notify messages (or connections) the notify receiver refused, by reason.");
    }

    internal void Rejected(NotifyRefusal reason, uint? peerCid)
    {
        if (!_rejected.Enabled)
        {
            return;
        }

        var reasonTag = new KeyValuePair<string, object?>(ReasonTag, Name(reason));
        if (peerCid is uint cid)
        {
            _rejected.Add(1, reasonTag, new KeyValuePair<string, object?>(VmciTransportMetrics.PeerCidTag, (long)cid));
        }
        else
        {
            _rejected.Add(1, reasonTag);
        }
    }

    internal static string Name(NotifyRefusal reason) => reason switch
    {
        NotifyRefusal.Oversized => "oversized",
        NotifyRefusal.NotUtf8 => "not_utf8",
        NotifyRefusal.Malformed => "malformed",
        NotifyRefusal.Empty => "empty",
        NotifyRefusal.Timeout => "timeout",
        NotifyRefusal.ConnectionLimit => "connection_limit",
        _ => "receive_failed",
    };
}

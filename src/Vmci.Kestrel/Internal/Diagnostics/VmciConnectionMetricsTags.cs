using System.Collections.Generic;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Tags Kestrel's connection metrics (kestrel.connection.duration) with the peer's CID, so that a dashboard
/// can tell guests apart. Kestrel owns <see cref="IConnectionMetricsTagsFeature"/> and sets it only once a
/// connection is dispatched, after the transport has handed it over, hence a connection middleware.
/// </summary>
internal static class VmciConnectionMetricsTags
{
    internal static ConnectionDelegate AddPeerCid(ConnectionDelegate next) => connection =>
    {
        if (connection.Features.Get<IConnectionMetricsTagsFeature>() is { } metrics
            && connection.Features.Get<IVmciConnectionFeature>() is { } vsock)
        {
            metrics.Tags.Add(new KeyValuePair<string, object?>(VmciTransportMetrics.PeerCidTag, (long)vsock.PeerCid));
        }

        return next(connection);
    };
}

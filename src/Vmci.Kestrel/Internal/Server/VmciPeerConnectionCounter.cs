using System.Collections.Concurrent;
using System.Collections.Generic;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Open connections per peer (a vsock CID, or the VM behind a hybrid vsock socket), for
/// <see cref="VmciTransportOptions.MaxConnectionsPerPeerCid"/> and the buffer budget. Peers with no connection
/// left are forgotten, so short-lived guests do not accumulate.
/// </summary>
internal sealed class VmciPeerConnectionCounter<TPeer>(IEqualityComparer<TPeer>? comparer = null)
    where TPeer : notnull
{
    private readonly ConcurrentDictionary<TPeer, int> _connections = new(comparer);

    /// <summary>Counts one more connection of <paramref name="peer"/>, unless it already has <paramref name="limit"/>.</summary>
    public bool TryAdd(TPeer peer, int limit)
    {
        while (true)
        {
            if (_connections.TryGetValue(peer, out int current))
            {
                if (current >= limit)
                {
                    return false;
                }

                if (_connections.TryUpdate(peer, current + 1, current))
                {
                    return true;
                }
            }
            else if (limit > 0 && _connections.TryAdd(peer, 1))
            {
                return true;
            }
            else if (limit <= 0)
            {
                return false;
            }
        }
    }

    /// <summary>One connection of <paramref name="peer"/> ended.</summary>
    public void Release(TPeer peer)
    {
        while (_connections.TryGetValue(peer, out int current))
        {
            if (current <= 1)
            {
                if (_connections.TryRemove(new KeyValuePair<TPeer, int>(peer, current)))
                {
                    return;
                }
            }
            else if (_connections.TryUpdate(peer, current - 1, current))
            {
                return;
            }
        }
    }

    /// <summary>How many connections <paramref name="peer"/> has open (for tests and diagnostics).</summary>
    public int Count(TPeer peer) => _connections.TryGetValue(peer, out int count) ? count : 0;
}

using System.Collections.Concurrent;
using System.Collections.Generic;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Open connections per peer CID, for <see cref="VmciTransportOptions.MaxConnectionsPerPeerCid"/>. One per
/// server (held by the listener factory), so the limit covers all of a server's vsock endpoints together;
/// CIDs with no connection left are forgotten, so short-lived guests do not accumulate.
/// </summary>
internal sealed class VmciPeerConnectionCounter
{
    private readonly ConcurrentDictionary<uint, int> _connections = new();

    /// <summary>Counts one more connection of <paramref name="cid"/>, unless it already has <paramref name="limit"/>.</summary>
    public bool TryAdd(uint cid, int limit)
    {
        while (true)
        {
            if (_connections.TryGetValue(cid, out int current))
            {
                if (current >= limit)
                {
                    return false;
                }

                if (_connections.TryUpdate(cid, current + 1, current))
                {
                    return true;
                }
            }
            else if (limit > 0 && _connections.TryAdd(cid, 1))
            {
                return true;
            }
            else if (limit <= 0)
            {
                return false;
            }
        }
    }

    /// <summary>One connection of <paramref name="cid"/> ended.</summary>
    public void Release(uint cid)
    {
        while (_connections.TryGetValue(cid, out int current))
        {
            if (current <= 1)
            {
                if (_connections.TryRemove(new KeyValuePair<uint, int>(cid, current)))
                {
                    return;
                }
            }
            else if (_connections.TryUpdate(cid, current - 1, current))
            {
                return;
            }
        }
    }

    /// <summary>How many connections <paramref name="cid"/> has open (for tests and diagnostics).</summary>
    public int Count(uint cid) => _connections.TryGetValue(cid, out int count) ? count : 0;
}

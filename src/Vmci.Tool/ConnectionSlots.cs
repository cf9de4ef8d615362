namespace Vmci.Tool;

/// <summary>
/// The bound on concurrent pairs of <c>vmci forward</c>: a slot is taken at accept and given back when the pair is
/// closed; without a free slot the connection is refused at once rather than queued. It also tells when refusing
/// starts and stops, so that a flood of refused clients makes two log lines, not one per client.
/// </summary>
internal sealed class ConnectionSlots(int max)
{
    private readonly object _gate = new();
    private int _open;
    private int _refused;

    public int Max => max;

    /// <summary>Takes a slot; false when all are in use, with <paramref name="firstRefusal"/> set for the first refusal since slots were last free.</summary>
    public bool TryTake(out bool firstRefusal)
    {
        lock (_gate)
        {
            if (_open < max)
            {
                _open++;
                firstRefusal = false;
                return true;
            }

            firstRefusal = _refused++ == 0;
            return false;
        }
    }

    /// <summary>Gives a slot back; returns how many connections were refused since the last release that returned non-zero (0: none).</summary>
    public int Release(out int open)
    {
        lock (_gate)
        {
            open = --_open;
            int refused = _refused;
            _refused = 0;
            return refused;
        }
    }
}

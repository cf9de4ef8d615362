using System;
using System.Threading;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// One admitted connection's place in its peer's count. Released once, however many paths end the connection
/// (closed, or failed while it was being set up), so that a peer never loses a slot nor gains one.
/// </summary>
internal sealed class VmciPeerSlot(Action release)
{
    private int _released;

    internal void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            release();
        }
    }
}

namespace Vmci.Kestrel.Internal;

/// <summary>Why the transport closed a connection before Kestrel saw it.</summary>
internal enum VmciRejectionReason
{
    /// <summary>The peer's CID is not in AllowedPeerCids.</summary>
    PeerCidNotAllowed,

    /// <summary>RequirePrivilegedPeerPort is set and the peer's port is 1024 or above.</summary>
    PeerPortNotPrivileged,

    /// <summary>The peer's CID already has MaxConnectionsPerPeerCid connections.</summary>
    PeerConnectionLimit,

    /// <summary>The peer's CID already holds as many connections as MaxBufferedBytesPerPeerCid allows.</summary>
    PeerBufferBudget,

    /// <summary>The peer reset the connection between connect and accept.</summary>
    ResetBeforeAccept,

    /// <summary>Setting up the accepted socket failed unexpectedly.</summary>
    SetupFailed,
}

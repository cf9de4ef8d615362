using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// Who is at the other end of a vsock connection. Present on every connection of the vsock transport,
/// in <c>ConnectionContext.Features</c> and in <c>HttpContext.Features</c>
/// (<see cref="VmciHttpContextExtensions.GetVmciConnection"/>).
/// </summary>
public interface IVmciConnectionFeature
{
    /// <summary>The peer's address: its CID (assigned by the hypervisor, not chosen by the peer) and port.</summary>
    VmciEndPoint RemoteEndPoint { get; }

    /// <summary>
    /// This side's address as the kernel reports it: on the server, the CID and port the peer connected
    /// to; on a client, VMADDR_CID_ANY and the ephemeral port the kernel bound.
    /// </summary>
    VmciEndPoint LocalEndPoint { get; }

    /// <summary>The peer's context ID.</summary>
    uint PeerCid => RemoteEndPoint.Cid;

    /// <summary>The peer's port.</summary>
    uint PeerPort => RemoteEndPoint.Port;

    /// <summary>
    /// Whether the peer's port is below 1024: binding such a port needs CAP_NET_BIND_SERVICE, so the
    /// peer process is privileged on its machine.
    /// </summary>
    /// <remarks>
    /// A connecting socket gets a high ephemeral port unless its program bound a low one on purpose;
    /// this is the vsock analogue of the old "reserved port" check, meaningful only as far as the
    /// peer's kernel can be trusted.
    /// </remarks>
    bool IsPeerPortPrivileged => RemoteEndPoint.IsPrivilegedPort;
}

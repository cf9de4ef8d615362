using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// Which VM socket and vsock port a hybrid vsock connection (Firecracker, Cloud Hypervisor) went through.
/// Present on every such connection, in <c>ConnectionContext.Features</c> and in <c>HttpContext.Features</c>
/// (<see cref="VmciHttpContextExtensions.GetHybridVsockConnection"/>); AF_VSOCK connections have
/// <see cref="IVmciConnectionFeature"/> instead.
/// </summary>
/// <remarks>
/// The hypervisor does not pass on the guest's CID or port: the peer is the VM that owns <see cref="UdsPath"/>.
/// </remarks>
public interface IHybridVsockConnectionFeature
{
    /// <summary>
    /// The VM's vsock Unix socket and the vsock port: on a server, the host port the guest dialled at CID 2
    /// (the listener's endpoint); on a client, the guest's port.
    /// </summary>
    HybridVsockEndPoint EndPoint { get; }

    /// <summary>The VM's vsock Unix socket on the host (<c>uds_path</c>).</summary>
    string UdsPath => EndPoint.UdsPath;

    /// <summary>The vsock port: the host port the guest dialled (server) or the guest's port (client).</summary>
    uint Port => EndPoint.Port;
}

namespace Vmci.Native;

/// <summary>
/// Well-known context IDs (CIDs). A CID names a virtual machine (or the host) the way an IP
/// address names a machine on a network; it is assigned by the hypervisor.
/// </summary>
public static class VmciCid
{
    /// <summary>VMADDR_CID_ANY: bind to every CID of this machine.</summary>
    public const uint Any = 0xFFFF_FFFF;

    /// <summary>VMADDR_CID_HYPERVISOR (0): reserved for services of the hypervisor itself.</summary>
    public const uint Hypervisor = 0;

    /// <summary>VMADDR_CID_LOCAL (1): this machine, through the vsock_loopback transport.</summary>
    public const uint Local = 1;

    /// <summary>VMADDR_CID_HOST (2): the host, as seen from a guest.</summary>
    public const uint Host = 2;
}

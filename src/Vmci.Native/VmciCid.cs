using System;

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

    /// <summary>
    /// The one table of CID names that endpoint text (<c>vsock://local:8080</c>) and URL host names
    /// (<c>http://cid-host:8080/</c>) accept: <c>local</c> (<see cref="Local"/>), <c>host</c> (<see cref="Host"/>)
    /// and <c>hypervisor</c> (<see cref="Hypervisor"/>), in any case.
    /// </summary>
    /// <returns>False for anything else (numbers and <c>any</c> are not names).</returns>
    public static bool TryParseName(ReadOnlySpan<char> name, out uint cid)
    {
        (bool known, cid) = name switch
        {
            _ when name.Equals("local", StringComparison.OrdinalIgnoreCase) => (true, Local),
            _ when name.Equals("host", StringComparison.OrdinalIgnoreCase) => (true, Host),
            _ when name.Equals("hypervisor", StringComparison.OrdinalIgnoreCase) => (true, Hypervisor),
            _ => (false, 0u),
        };
        return known;
    }
}

namespace Vmci.Native;

/// <summary>Well-known vsock port values.</summary>
public static class VmciPort
{
    /// <summary>VMADDR_PORT_ANY: let the kernel pick a free port when binding.</summary>
    public const uint Any = 0xFFFF_FFFF;

    /// <summary>
    /// Ports below this value are privileged: binding them needs CAP_NET_BIND_SERVICE, so a peer
    /// whose port is below it runs with that capability.
    /// </summary>
    public const uint FirstUnprivileged = 1024;
}

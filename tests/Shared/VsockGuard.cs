using System;
using Vmci.Native;

namespace Vmci.Testing;

/// <summary>
/// Refuses any test connect that could leave the machine. A machine without vsock_loopback routes
/// CID 1 to the hypervisor's host, and any other CID reaches a real peer unless this is the
/// loopback-only sandbox VM (local CID 1).
/// </summary>
internal static class VsockGuard
{
    internal static void EnsureMayConnect(VmciEndPoint target)
    {
        if (!VsockEnvironment.HasLoopback)
        {
            throw new InvalidOperationException(
                $"Refusing to connect to {target}: the kernel has no vsock_loopback (neither /sys/module/vsock_loopback nor built in), so the connect would go to the hypervisor's host. {VsockEnvironment.RunForReal}.");
        }

        if (target.Cid != VmciCid.Local && !(VsockEnvironment.InSandbox && VmciPlatform.GetLocalCid() == VmciCid.Local))
        {
            throw new InvalidOperationException(
                $"Refusing to connect to {target}: only CID 1 stays on this machine, except inside the loopback-only sandbox VM.");
        }
    }
}

using System;
using System.Linq;
using Vmci.Native;

namespace Vmci.Testing;

/// <summary>
/// Refuses any test connect that could leave the machine. A machine without vsock_loopback routes
/// CID 1 to the hypervisor's host, and any other CID reaches a real peer unless this is the
/// loopback-only sandbox VM (local CID 1), or one of the real guests that eng/vsock-guests booted inside
/// the sandbox VM (VSOCK_GUESTS), which is then their host.
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

        if (VsockEnvironment.InSandbox && NestedGuestCids().Contains(target.Cid))
        {
            return;
        }

        if (target.Cid != VmciCid.Local && !(VsockEnvironment.InSandbox && VmciPlatform.GetLocalCid() == VmciCid.Local))
        {
            throw new InvalidOperationException(
                $"Refusing to connect to {target}: only CID 1 stays on this machine, except inside the loopback-only sandbox VM.");
        }
    }

    /// <summary>The CIDs of the guests nested in this sandbox VM: nothing outside it answers to them.</summary>
    private static uint[] NestedGuestCids() => (Environment.GetEnvironmentVariable("VSOCK_GUESTS") ?? "")
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(c => uint.Parse(c, System.Globalization.CultureInfo.InvariantCulture))
        .ToArray();
}

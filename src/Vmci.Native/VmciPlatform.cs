using System;
using System.IO;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Vmci.Native;

/// <summary>
/// This machine's vsock support: whether it has AF_VSOCK, the address family (the guide's
/// VMCISock_GetAFValue) and the local context ID (VMCISock_GetLocalCID).
/// </summary>
public static class VmciPlatform
{
    /// <summary>
    /// AF_VSOCK as an <see cref="System.Net.Sockets.AddressFamily"/> (it has no named member): 40 on Linux, the
    /// value the guide's VMCISock_GetAFValue returns.
    /// </summary>
    public static AddressFamily AddressFamily => (AddressFamily)Interop.Constants.AF_VSOCK;

    /// <summary>Whether this is Linux and its kernel has AF_VSOCK (it creates and closes a stream socket to find out).</summary>
    public static bool IsSupported
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return false;
            }

            int fd = Interop.Libc.Socket(Interop.Constants.AF_VSOCK, Interop.Constants.SOCK_STREAM | Interop.Constants.SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                return false;
            }

            Interop.Libc.Close(fd);
            return true;
        }
    }

    /// <summary>
    /// The context ID of this machine, read from the kernel every time (IOCTL_VM_SOCKETS_GET_LOCAL_CID
    /// on /dev/vsock): it can change when a VM is migrated, suspended or resumed, so never cache it.
    /// </summary>
    /// <remarks>
    /// A guest gets the CID its hypervisor assigned; a host gets <see cref="VmciCid.Host"/>; a machine
    /// with only the loopback transport gets <see cref="VmciCid.Local"/>.
    /// </remarks>
    /// <exception cref="PlatformNotSupportedException">This is not Linux.</exception>
    /// <exception cref="VmciSocketException">There is no /dev/vsock, it cannot be opened, or no transport assigned a CID.</exception>
    public static uint GetLocalCid()
    {
        VmciPlatform.ThrowIfNotLinux();
        // open(2) itself, so that its errno says why (no node, no permission, a node without a driver).
        int fd = Interop.Libc.Open("/dev/vsock", Interop.Constants.O_RDONLY | Interop.Constants.O_CLOEXEC);
        if (fd < 0)
        {
            throw VmciErrors.FromLastError(VmciOperation.GetLocalCid);
        }

        var device = new SafeFileHandle(fd, ownsHandle: true);
        using (device)
        {
            if (Interop.Libc.IoctlUInt32(device, Interop.Constants.IOCTL_VM_SOCKETS_GET_LOCAL_CID, out uint cid) != 0)
            {
                throw VmciErrors.FromLastError(VmciOperation.GetLocalCid);
            }

            if (cid == VmciCid.Any)
            {
                throw VmciErrors.FromErrno(Interop.Errno.ENODEV, VmciOperation.GetLocalCid);
            }

            return cid;
        }
    }

    /// <summary>AF_VSOCK as this library knows it is Linux's; other systems get one clear error.</summary>
    internal static void ThrowIfNotLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                "Vmci.Native uses Linux's AF_VSOCK sockets and runs on Linux only (on Windows, Hyper-V sockets (AF_HYPERV) are the counterpart).");
        }
    }
}

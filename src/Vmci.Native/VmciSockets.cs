using System;
using System.IO;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Vmci.Native;

/// <summary>
/// Facts about this machine's vsock support: the address family (the guide's
/// VMCISock_GetAFValue) and the local context ID (VMCISock_GetLocalCID).
/// </summary>
public static class VmciSockets
{
    /// <summary>AF_VSOCK on Linux (40), the value the guide's VMCISock_GetAFValue returns.</summary>
    public const int AddressFamilyValue = Interop.Constants.AF_VSOCK;

    /// <summary>AF_VSOCK as an <see cref="System.Net.Sockets.AddressFamily"/> (it has no named member).</summary>
    public static AddressFamily AddressFamily => (AddressFamily)AddressFamilyValue;

    /// <summary>Whether this is Linux and its kernel has AF_VSOCK (it creates and closes a stream socket to find out).</summary>
    public static bool IsSupported
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return false;
            }

            int fd = Interop.Libc.Socket(AddressFamilyValue, Interop.Constants.SOCK_STREAM | Interop.Constants.SOCK_CLOEXEC, 0);
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
}

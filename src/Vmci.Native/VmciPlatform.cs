using System;

namespace Vmci.Native;

/// <summary>AF_VSOCK as this library knows it is Linux's; other systems get one clear error.</summary>
internal static class VmciPlatform
{
    internal static void ThrowIfNotLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                "Vmci.Native uses Linux's AF_VSOCK sockets and runs on Linux only (on Windows, Hyper-V sockets (AF_HYPERV) are the counterpart).");
        }
    }
}

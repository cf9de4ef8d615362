using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Vmci.Native;

namespace Vmci.Testing;

/// <summary>What this machine offers for vsock tests, and why a test cannot run here.</summary>
internal static class VsockEnvironment
{
    internal const string RunForReal = "run eng/test (it runs them inside the vsock sandbox VM: eng/vsock-sandbox)";

    /// <summary>The kernel has AF_VSOCK (needed to create, bind and listen).</summary>
    internal static bool HasAfVsock { get; } = VmciPlatform.IsSupported;

    /// <summary>CID 1 reaches this machine: the only peer tests may connect to.</summary>
    /// <remarks>
    /// A loaded module shows in /sys/module; one built into the kernel may not (only modules with parameters
    /// do), so the kernel's list of built-in modules and its configuration are read too.
    /// </remarks>
    internal static bool HasLoopback { get; } = Directory.Exists("/sys/module/vsock_loopback")
        || IsBuiltIn("vsock_loopback") || KernelConfigHas("CONFIG_VSOCKETS_LOOPBACK=y");

    private static bool IsBuiltIn(string module)
    {
        string list = $"/lib/modules/{KernelRelease()}/modules.builtin";
        // Lines look like "kernel/net/vmw_vsock/vsock_loopback.ko".
        return File.Exists(list) && File.ReadLines(list).Any(line => Path.GetFileNameWithoutExtension(line) == module);
    }

    private static bool KernelConfigHas(string line)
    {
        const string Config = "/proc/config.gz";
        if (!File.Exists(Config))
        {
            return false;
        }

        using var reader = new StreamReader(new GZipStream(File.OpenRead(Config), CompressionMode.Decompress));
        while (reader.ReadLine() is { } current)
        {
            if (current == line)
            {
                return true;
            }
        }

        return false;
    }

    private static string KernelRelease() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    /// <summary>Inside eng/vsock-sandbox, where no connect can leave the VM.</summary>
    internal static bool InSandbox => Environment.GetEnvironmentVariable("VSOCK_SANDBOX") == "1";

    /// <summary>Whether the VMware VMCI transport is loaded (the only one with datagram sockets).</summary>
    internal static bool HasVmciTransport => Directory.Exists("/sys/module/vmw_vsock_vmci_transport");

    internal static bool IsRoot => Environment.IsPrivilegedProcess;

    internal static string? AfVsockSkipReason => HasAfVsock
        ? null
        : $"this kernel has no AF_VSOCK; {RunForReal}";

    internal static string? LoopbackSkipReason => HasLoopback
        ? null
        : $"connecting needs the vsock_loopback module (/sys/module/vsock_loopback), and without it a connect reaches the hypervisor's host; {RunForReal}";

    internal static string? SandboxSkipReason => HasLoopback && InSandbox
        ? null
        : $"needs the loopback-only sandbox VM, where a CID other than 1 reaches nothing; {RunForReal}";
}

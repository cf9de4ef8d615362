using System;
using System.IO;
using Vmci.Native;

namespace Vmci.Testing;

/// <summary>What this machine offers for vsock tests, and why a test cannot run here.</summary>
internal static class VsockEnvironment
{
    internal const string RunForReal = "run eng/test (it runs them inside the vsock sandbox VM: eng/vsock-sandbox)";

    /// <summary>The kernel has AF_VSOCK (needed to create, bind and listen).</summary>
    internal static bool HasAfVsock { get; } = VmciSockets.IsSupported;

    /// <summary>CID 1 reaches this machine: the only peer tests may connect to.</summary>
    internal static bool HasLoopback => Directory.Exists("/sys/module/vsock_loopback");

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

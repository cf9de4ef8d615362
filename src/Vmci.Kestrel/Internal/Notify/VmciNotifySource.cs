using System;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// What <c>NOTIFY_SOCKET</c> held when <c>UseVmci()</c> configured the services: a vsock address, the reason it was
/// unusable, or nothing for this library (unset, or a Unix path left to other notifiers). Taken once per process.
/// </summary>
internal sealed class VmciNotifySource(VmciNotifyAddress? address, string? error)
{
    internal VmciNotifyAddress? Address { get; } = address;

    internal string? Error { get; } = error;

    /// <summary>
    /// Reads the variable and, when it is a vsock form, removes it from the environment: children must not report
    /// for this process, and a Unix-only notifier in the same app (SystemdNotifier) must not try it as a path.
    /// </summary>
    internal static VmciNotifySource TakeFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(VmciNotify.EnvironmentVariable);
        if (!VmciNotifyAddress.IsVsockForm(value))
        {
            return new VmciNotifySource(null, null);
        }

        Environment.SetEnvironmentVariable(VmciNotify.EnvironmentVariable, null);
        return VmciNotifyAddress.TryParse(value, out VmciNotifyAddress? address, out string? error)
            ? new VmciNotifySource(address, null)
            : new VmciNotifySource(null, error);
    }
}

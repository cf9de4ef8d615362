using System;
using System.Collections.Generic;
using System.Linq;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// systemd socket activation: the listening sockets a socket unit (or <c>systemd-socket-activate</c>)
/// passed to this process. <c>UseVmci()</c> serves the vsock ones by itself; TCP and Unix ones stay
/// Kestrel's (<c>KestrelServerOptions.UseSystemd()</c>).
/// </summary>
/// <remarks>
/// The environment (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) is read once per process, at the first use,
/// and removed when Kestrel's options are built, so that child processes do not take it for theirs.
/// </remarks>
public static class VmciSocketActivation
{
    private static readonly Lazy<IReadOnlyList<VmciActivatedSocket>> Inherited = new(Load);

    // Looking at a passed descriptor takes it over if it is a vsock listener (VmciListenerDescriptors), so
    // only the setup that serves them looks; IsSocketActivated reads the environment alone.
    private static readonly Lazy<IReadOnlyList<VmciActivatedSocket>> InheritedVsock =
        new(() => Inherited.Value.Where(listener => VmciListenerDescriptors.IsVsockListener(listener.FileDescriptor)).ToArray());

    /// <summary>Whether this process was started with passed sockets (of any kind) meant for it.</summary>
    /// <exception cref="InvalidOperationException">The LISTEN_* variables are malformed; the message names the variable.</exception>
    public static bool IsSocketActivated => Inherited.Value.Count > 0;

    /// <summary>The passed sockets that are listening vsock stream sockets, in descriptor order.</summary>
    /// <exception cref="InvalidOperationException">The LISTEN_* variables are malformed; the message names the variable.</exception>
    internal static IReadOnlyList<VmciActivatedSocket> VsockListeners => InheritedVsock.Value;

    /// <summary>The passed socket with descriptor <paramref name="fileDescriptor"/>, if there is one.</summary>
    internal static VmciActivatedSocket? Find(int fileDescriptor)
        => Inherited.Value.FirstOrDefault(listener => listener.FileDescriptor == fileDescriptor);

    /// <summary>Removes the LISTEN_* variables (sd_listen_fds with unset_environment), once the server has taken the sockets.</summary>
    internal static void ConsumeEnvironment()
    {
        if (Inherited.Value.Count > 0)
        {
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.PidVariable, null);
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.CountVariable, null);
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.NamesVariable, null);
        }
    }

    private static IReadOnlyList<VmciActivatedSocket> Load()
    {
        try
        {
            return VmciSocketActivationEnvironment.Parse(
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.PidVariable),
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.CountVariable),
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.NamesVariable),
                Environment.ProcessId);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"systemd socket activation: {ex.Message}", ex);
        }
    }
}

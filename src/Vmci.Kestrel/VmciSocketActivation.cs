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
    private static readonly Lazy<State> Inherited = new(Load);

    /// <summary>Whether this process was started with passed sockets (of any kind) meant for it.</summary>
    /// <exception cref="InvalidOperationException">The LISTEN_* variables are malformed; the message names the variable.</exception>
    public static bool IsSocketActivated => Inherited.Value.All.Count > 0;

    /// <summary>The passed sockets that are listening vsock stream sockets, in descriptor order.</summary>
    /// <exception cref="InvalidOperationException">The LISTEN_* variables are malformed; the message names the variable.</exception>
    internal static IReadOnlyList<VmciActivatedSocket> VsockListeners => Inherited.Value.Vsock;

    /// <summary>The passed socket with descriptor <paramref name="fileDescriptor"/>, if there is one.</summary>
    internal static VmciActivatedSocket? Find(int fileDescriptor)
        => Inherited.Value.All.FirstOrDefault(listener => listener.FileDescriptor == fileDescriptor);

    /// <summary>
    /// Whether a descriptor handed to Kestrel (<c>ListenHandle</c>) is a listening vsock socket: for a passed socket,
    /// what the one probe at the first use found; for any other descriptor, the kernel's answer now.
    /// </summary>
    internal static bool IsVsockListener(int fileDescriptor)
        => Inherited.Value.Vsock.Any(listener => listener.FileDescriptor == fileDescriptor)
            || (Find(fileDescriptor) is null && VmciSocket.IsListener(fileDescriptor));

    /// <summary>Removes the LISTEN_* variables (sd_listen_fds with unset_environment), once the server has taken the sockets.</summary>
    internal static void ConsumeEnvironment()
    {
        if (Inherited.Value.All.Count > 0)
        {
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.PidVariable, null);
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.CountVariable, null);
            Environment.SetEnvironmentVariable(VmciSocketActivationEnvironment.NamesVariable, null);
        }
    }

    private static State Load()
    {
        IReadOnlyList<VmciActivatedSocket> all;
        try
        {
            all = VmciSocketActivationEnvironment.Parse(
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.PidVariable),
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.CountVariable),
                Environment.GetEnvironmentVariable(VmciSocketActivationEnvironment.NamesVariable),
                Environment.ProcessId);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"systemd socket activation: {ex.Message}", ex);
        }

        return new State(all, all.Where(listener => VmciSocket.IsListener(listener.FileDescriptor)).ToArray());
    }

    private sealed record State(IReadOnlyList<VmciActivatedSocket> All, IReadOnlyList<VmciActivatedSocket> Vsock);
}

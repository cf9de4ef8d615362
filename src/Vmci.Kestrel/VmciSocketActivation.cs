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
    public static IReadOnlyList<VmciInheritedListener> VsockListeners => Inherited.Value.Vsock;

    /// <summary>The passed socket with descriptor <paramref name="fileDescriptor"/>, if there is one.</summary>
    internal static VmciInheritedListener? Find(int fileDescriptor)
        => Inherited.Value.All.FirstOrDefault(listener => listener.FileDescriptor == fileDescriptor);

    /// <summary>Removes the LISTEN_* variables (sd_listen_fds with unset_environment), once the server has taken the sockets.</summary>
    internal static void ConsumeEnvironment()
    {
        if (Inherited.Value.All.Count > 0)
        {
            Environment.SetEnvironmentVariable(SystemdListenFds.PidVariable, null);
            Environment.SetEnvironmentVariable(SystemdListenFds.CountVariable, null);
            Environment.SetEnvironmentVariable(SystemdListenFds.NamesVariable, null);
        }
    }

    private static State Load()
    {
        IReadOnlyList<VmciInheritedListener> all;
        try
        {
            all = SystemdListenFds.Parse(
                Environment.GetEnvironmentVariable(SystemdListenFds.PidVariable),
                Environment.GetEnvironmentVariable(SystemdListenFds.CountVariable),
                Environment.GetEnvironmentVariable(SystemdListenFds.NamesVariable),
                Environment.ProcessId);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"systemd socket activation: {ex.Message}", ex);
        }

        return new State(all, all.Where(listener => VmciSocket.IsListener(listener.FileDescriptor)).ToArray());
    }

    private sealed record State(IReadOnlyList<VmciInheritedListener> All, IReadOnlyList<VmciInheritedListener> Vsock);
}

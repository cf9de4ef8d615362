using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The listening vsock descriptors this process was handed (passed by systemd, or given to <c>ListenHandle</c>),
/// each looked at once: the look that finds a descriptor to be a vsock listener also takes it over
/// (<see cref="VmciSocket.TryAdoptListener"/>), and the socket waits here until a listener serves it.
/// </summary>
/// <remarks>
/// Kestrel asks which transport binds a descriptor (<c>CanBind</c>) before it binds it, and the socket-activation
/// setup asks before either; without this table each question would inspect the descriptor again. Only positive
/// answers are kept: a descriptor that is not a vsock listener is Kestrel's socket transport's, and its number may
/// be reused by the app later.
/// </remarks>
internal static class VmciListenerDescriptors
{
    private static readonly Dictionary<int, Socket> Waiting = [];
    private static readonly Lock Gate = new();

    /// <summary>Whether <paramref name="fileDescriptor"/> is a listening vsock stream socket; the first yes takes it over.</summary>
    public static bool IsVsockListener(int fileDescriptor)
    {
        lock (Gate)
        {
            if (Waiting.ContainsKey(fileDescriptor))
            {
                return true;
            }

            if (!VmciSocket.TryAdoptListener(fileDescriptor, out Socket? socket))
            {
                return false;
            }

            Waiting[fileDescriptor] = socket;
            return true;
        }
    }

    /// <summary>
    /// The taken-over socket for <paramref name="fileDescriptor"/>, which the caller then owns. After an earlier
    /// listener took it and closed it (Kestrel rebinding on a configuration reload), the descriptor is taken over anew.
    /// </summary>
    /// <exception cref="System.ArgumentException">The descriptor is no longer a listening vsock socket.</exception>
    public static Socket Take(int fileDescriptor)
    {
        lock (Gate)
        {
            return Waiting.Remove(fileDescriptor, out Socket? socket) ? socket : VmciSocket.AdoptListener(fileDescriptor);
        }
    }
}

using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;

namespace Vmci.Native;

public static partial class VmciSocket
{
    /// <summary>
    /// Whether <paramref name="fileDescriptor"/> is an AF_VSOCK stream socket that is listening, such as one
    /// systemd passes to a socket-activated service (<c>ListenStream=vsock:...</c>).
    /// </summary>
    /// <remarks>False for a closed descriptor, a file, and TCP, Unix or unbound vsock sockets.</remarks>
    public static unsafe bool IsListener(int fileDescriptor)
    {
        if (!OperatingSystem.IsLinux() || fileDescriptor < 0)
        {
            return false;
        }

        byte* address = stackalloc byte[VmciEndPoint.SockAddrSize];
        int length = VmciEndPoint.SockAddrSize;
        if (Interop.Libc.GetSockName(fileDescriptor, address, ref length) != 0 || length < sizeof(ushort) || *(ushort*)address != Interop.Constants.AF_VSOCK)
        {
            return false;
        }

        return GetSocketInt32(fileDescriptor, Interop.Libc.SO_TYPE) == Interop.Constants.SOCK_STREAM
            && GetSocketInt32(fileDescriptor, Interop.Libc.SO_ACCEPTCONN) == 1;
    }

    /// <summary>
    /// Takes over a listening vsock socket this process inherited (systemd socket activation), as a
    /// <see cref="Socket"/> whose <c>AcceptAsync</c> works and whose accepted sockets have
    /// <see cref="VmciEndPoint"/>s.
    /// </summary>
    /// <remarks>
    /// The result is a second descriptor for the same listening socket; the kernel's backlog and buffer
    /// sizes are those the socket's creator set. <paramref name="fileDescriptor"/> itself stays open
    /// (closing it is up to the caller) and is marked close-on-exec, as sd_listen_fds does, so that
    /// child processes do not keep the listener open. Read the address with <see cref="GetLocalEndPoint"/>.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="fileDescriptor"/> is not a listening AF_VSOCK stream socket.</exception>
    /// <exception cref="PlatformNotSupportedException">This is not Linux.</exception>
    /// <exception cref="VmciSocketException">The kernel refused a step; the message says which.</exception>
    public static Socket AdoptListener(int fileDescriptor)
        => TryAdoptListener(fileDescriptor, out Socket? socket)
            ? socket
            : throw new ArgumentException(
                $"Descriptor {fileDescriptor} is not a listening AF_VSOCK stream socket: check which descriptors the parent passed (LISTEN_FDS, LISTEN_FDNAMES) and that its socket unit says ListenStream=vsock:CID:PORT.",
                nameof(fileDescriptor));

    /// <summary>
    /// Takes over <paramref name="fileDescriptor"/> as <see cref="AdoptListener"/> does if it is a listening
    /// AF_VSOCK stream socket (<see cref="IsListener"/>), and otherwise leaves it alone and returns false.
    /// </summary>
    /// <remarks>One look at the descriptor serves both the question and the takeover: use it rather than
    /// <see cref="IsListener"/> followed by <see cref="AdoptListener"/>.</remarks>
    /// <exception cref="PlatformNotSupportedException">This is not Linux.</exception>
    /// <exception cref="VmciSocketException">The kernel refused a step of the takeover; the message says which.</exception>
    public static bool TryAdoptListener(int fileDescriptor, [NotNullWhen(true)] out Socket? socket)
    {
        VmciPlatform.ThrowIfNotLinux();
        socket = null;
        if (!IsListener(fileDescriptor))
        {
            return false;
        }

        // .NET learns a socket's address type only from its own Bind/Connect; a socket it adopts with a family
        // it does not know (AF_VSOCK) has none, and its Accept then fails ("You must call the Bind method").
        // So let .NET bind and listen a fresh vsock socket on vsock://any:any, then make that socket's
        // descriptor refer to the inherited listener: dup3 swaps it atomically and closes the placeholder.
        // This happens before any async operation, so the epoll registration and O_NONBLOCK that the first
        // AcceptAsync sets up apply to the inherited socket.
        Socket adopted = Create(SocketType.Stream);
        try
        {
            Bind(adopted, new VmciEndPoint(VmciCid.Any, VmciPort.Any));
            adopted.Listen(1);
            if (Interop.Libc.Dup3(fileDescriptor, adopted.SafeHandle, Interop.Constants.O_CLOEXEC) < 0
                || Interop.Libc.Fcntl(fileDescriptor, Interop.Libc.F_SETFD, Interop.Libc.FD_CLOEXEC) < 0)
            {
                string what = $"(descriptor {fileDescriptor.ToString(CultureInfo.InvariantCulture)})";
                throw VmciErrors.FromLastError(VmciOperation.AdoptListener, option: what);
            }

            socket = adopted;
            return true;
        }
        catch
        {
            adopted.Dispose();
            throw;
        }
    }

    private static int GetSocketInt32(int fileDescriptor, int option)
    {
        int length = sizeof(int);
        return Interop.Libc.GetSockOptInt32(fileDescriptor, Interop.Libc.SOL_SOCKET, option, out int value, ref length) == 0 ? value : -1;
    }
}

using System;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Native;

/// <summary>
/// Creates AF_VSOCK sockets as ordinary <see cref="Socket"/> objects, and binds, listens and connects
/// them with errors that explain themselves.
/// </summary>
/// <remarks>
/// The sockets are plain .NET sockets: Send/Receive, AcceptAsync, cancellation and the async engine
/// all work as for TCP, and their endpoints are <see cref="VmciEndPoint"/>s. Calling
/// <see cref="Socket.Bind"/> or <see cref="Socket.ConnectAsync(System.Net.EndPoint, CancellationToken)"/>
/// directly works too; the helpers here add messages that name the cause and the fix.
/// </remarks>
public static partial class VmciSocket
{
    /// <summary>The listen backlog <see cref="Listen"/> uses unless told otherwise (Kestrel's default too).</summary>
    public const int DefaultBacklog = 512;

    /// <summary>Creates an unbound, unconnected vsock socket (close-on-exec).</summary>
    /// <param name="socketType">
    /// <see cref="SocketType.Stream"/> (every transport), <see cref="SocketType.Seqpacket"/> (virtio and
    /// loopback transports) or <see cref="SocketType.Dgram"/> (VMware's VMCI transport only).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">Another socket type.</exception>
    /// <exception cref="PlatformNotSupportedException">This is not Linux.</exception>
    /// <exception cref="VmciSocketException">The kernel has no AF_VSOCK, or no transport with that socket type.</exception>
    public static Socket Create(SocketType socketType = SocketType.Stream)
    {
        (int type, VmciOperation operation) = socketType switch
        {
            SocketType.Stream => (Interop.Constants.SOCK_STREAM, VmciOperation.CreateStream),
            SocketType.Seqpacket => (Interop.Constants.SOCK_SEQPACKET, VmciOperation.CreateSeqPacket),
            SocketType.Dgram => (Interop.Constants.SOCK_DGRAM, VmciOperation.CreateDatagram),
            _ => throw new ArgumentOutOfRangeException(nameof(socketType), socketType, "vsock sockets are Stream, Seqpacket or Dgram."),
        };
        VmciPlatform.ThrowIfNotLinux();

        // .NET refuses AddressFamily 40 in its Socket constructors, so the descriptor comes from libc
        // and .NET adopts it; from then on it is an ordinary Socket.
        int fd = Interop.Libc.Socket(Interop.Constants.AF_VSOCK, type | Interop.Constants.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw VmciErrors.FromLastError(operation);
        }

        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        try
        {
            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Binds <paramref name="socket"/> to <paramref name="endPoint"/>.</summary>
    /// <exception cref="VmciSocketException">The port is in use or privileged, or the CID is not this machine's.</exception>
    public static void Bind(Socket socket, VmciEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(endPoint);
        try
        {
            socket.Bind(endPoint);
        }
        catch (SocketException ex)
        {
            // First thing: this thread's errno is still the kernel's answer to bind(2).
            int errno = Marshal.GetLastSystemError();
            throw VmciErrors.FromSocketException(ex, VmciOperation.Bind, endPoint, threadErrno: errno);
        }
    }

    /// <summary>Reads the socket's own address from the kernel (getsockname).</summary>
    /// <remarks>
    /// Use it on accepted sockets: .NET gives an accepted socket the listener's
    /// <see cref="Socket.LocalEndPoint"/> (for a listener on <see cref="VmciCid.Any"/>, <c>vsock://any:PORT</c>),
    /// while this returns the CID the peer actually connected to.
    /// </remarks>
    /// <exception cref="VmciSocketException">The kernel refused getsockname.</exception>
    /// <exception cref="ArgumentException">The socket is not an AF_VSOCK socket.</exception>
    /// <exception cref="ObjectDisposedException">The socket is closed.</exception>
    public static unsafe VmciEndPoint GetLocalEndPoint(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        byte* address = stackalloc byte[VmciEndPoint.SockAddrSize];
        int length = VmciEndPoint.SockAddrSize;
        if (Interop.Libc.GetSockName(socket.SafeHandle, address, ref length) != 0)
        {
            throw VmciErrors.FromLastError(VmciOperation.GetLocalEndPoint);
        }

        try
        {
            return VmciEndPoint.Read(new ReadOnlySpan<byte>(address, length));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The socket is not an AF_VSOCK socket: {ex.Message}", nameof(socket), ex);
        }
    }

    /// <summary>Creates a stream socket bound to <paramref name="endPoint"/> and listening.</summary>
    /// <remarks>
    /// With <see cref="VmciPort.Any"/> the kernel picks a free port; <see cref="Socket.LocalEndPoint"/>
    /// of the result then holds the real one. <paramref name="configure"/> runs before bind, the place
    /// for buffer sizes, which accepted sockets inherit.
    /// </remarks>
    /// <exception cref="VmciSocketException">Creating, binding or listening failed; the socket is disposed.</exception>
    public static Socket Listen(VmciEndPoint endPoint, int backlog = DefaultBacklog, Action<Socket>? configure = null)
        => ListenCore(SocketType.Stream, endPoint, backlog, configure);

    /// <summary>
    /// Creates a seqpacket socket (message boundaries kept: each send is one receive) bound to
    /// <paramref name="endPoint"/> and listening. The virtio and loopback transports have seqpacket sockets; VMCI and
    /// Hyper-V do not.
    /// </summary>
    /// <remarks>With <see cref="VmciPort.Any"/> the kernel picks the port; read it with <see cref="GetLocalEndPoint"/>.</remarks>
    /// <exception cref="VmciSocketException">Creating, binding or listening failed; the socket is disposed.</exception>
    public static Socket ListenSeqpacket(VmciEndPoint endPoint, int backlog = DefaultBacklog)
        => ListenCore(SocketType.Seqpacket, endPoint, backlog, configure: null);

    private static Socket ListenCore(SocketType type, VmciEndPoint endPoint, int backlog, Action<Socket>? configure)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        Socket socket = Create(type);
        try
        {
            configure?.Invoke(socket);
            Bind(socket, endPoint);
            try
            {
                socket.Listen(backlog);
            }
            catch (SocketException ex)
            {
                int errno = Marshal.GetLastSystemError();
                throw VmciErrors.FromSocketException(ex, VmciOperation.Listen, endPoint, threadErrno: errno);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects <paramref name="socket"/> to <paramref name="endPoint"/>.</summary>
    /// <remarks>
    /// The kernel gives up after the socket's connect timeout (2 seconds unless
    /// <see cref="VmciSocketOptions.SetVmciConnectTimeout"/> says otherwise).
    /// </remarks>
    /// <exception cref="VmciSocketException">Nobody listens there (refused), no transport reaches the CID (unreachable) or the timeout passed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask ConnectAsync(Socket socket, VmciEndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(endPoint);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw VmciErrors.FromSocketException(ex, VmciOperation.Connect, endPoint);
        }
    }

    /// <summary>Creates a stream socket and connects it to <paramref name="endPoint"/>.</summary>
    /// <inheritdoc cref="ConnectAsync(Socket, VmciEndPoint, CancellationToken)" path="/exception"/>
    public static ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint) => ConnectAsync(endPoint, CancellationToken.None);

    /// <summary>Creates a stream socket and connects it to <paramref name="endPoint"/>.</summary>
    /// <inheritdoc cref="ConnectAsync(Socket, VmciEndPoint, CancellationToken)" path="/exception"/>
    public static async ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Socket socket = Create(SocketType.Stream);
        try
        {
            await ConnectAsync(socket, endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

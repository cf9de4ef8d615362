using System;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Native;

/// <summary>
/// The sending side of systemd's notify protocol over vsock (<c>sd_notify(3)</c> with a vsock <c>NOTIFY_SOCKET</c>):
/// one message of newline-separated <c>KEY=VALUE</c> fields (<c>READY=1</c>, <c>STATUS=...</c>, <c>STOPPING=1</c>)
/// to a host that listens, as systemd-vmspawn does.
/// </summary>
public static class VmciNotify
{
    /// <summary>The environment variable that holds the notify address.</summary>
    public const string EnvironmentVariable = "NOTIFY_SOCKET";

    /// <summary>The largest message systemd's receivers read (its <c>NOTIFY_BUFFER_MAX</c>, 4096 bytes); larger ones are refused.</summary>
    public const int MaxMessageBytes = 4096;

    private const uint FirstPrivilegedPortTried = VmciPort.FirstUnprivileged - 1;

    /// <summary>
    /// Sends <paramref name="state"/> as one message, the way <c>sd_notify</c> does over vsock: a datagram, or a
    /// connection that carries the message, is shut down for writing and waits until the receiver closes it (so a
    /// completed send means the receiver read the whole message). The plain <c>vsock:</c> form tries a datagram
    /// socket, then seqpacket, then stream, whichever the kernel's transport has. The socket is bound to a port
    /// below 1024 when the process may bind one (the receiver can tell a privileged sender), as systemd does.
    /// </summary>
    /// <param name="address">Where to send.</param>
    /// <param name="state">The fields, newline-separated: <c>"READY=1\nSTATUS=Serving"</c>.</param>
    /// <param name="cancellationToken">Cancels the send, including the wait for the receiver to close.</param>
    /// <exception cref="ArgumentException"><paramref name="state"/> is empty or longer than <see cref="MaxMessageBytes"/> in UTF-8.</exception>
    /// <exception cref="VmciSocketException">No socket of a usable type, nobody listening there, or the connection failed; the message says which.</exception>
    /// <exception cref="System.IO.IOException">The receiver sent data back, which the protocol does not allow.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask SendAsync(VmciNotifyAddress address, string state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentException.ThrowIfNullOrEmpty(state);
        byte[] message = Encoding.UTF8.GetBytes(state);
        if (message.Length > MaxMessageBytes)
        {
            throw new ArgumentException($"The notify message is {message.Length} bytes in UTF-8; receivers read at most {MaxMessageBytes}. Send less (a shorter STATUS=), or several messages.", nameof(state));
        }

        (Socket socket, SocketType type) = CreateSocket(address);
        using (socket)
        {
            TryBindPrivilegedPort(socket);
            if (type == SocketType.Dgram)
            {
                await socket.SendToAsync(message, SocketFlags.None, address.EndPoint, cancellationToken).ConfigureAwait(false);
                return;
            }

            await VmciSocket.ConnectAsync(socket, address.EndPoint, cancellationToken).ConfigureAwait(false);
            for (int sent = 0; sent < message.Length;)
            {
                sent += await socket.SendAsync(message.AsMemory(sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            // The end of the message is the end of the stream: shut down writing, then wait for the receiver to
            // close, which it does once it has read everything (systemd waits the same way).
            socket.Shutdown(SocketShutdown.Send);
            byte[] reply = new byte[1];
            if (await socket.ReceiveAsync(reply, SocketFlags.None, cancellationToken).ConfigureAwait(false) != 0)
            {
                throw new System.IO.IOException($"The notify receiver at {address} sent data back; the protocol has the receiver only read and close. Is something else listening on that port?");
            }
        }
    }

    /// <summary>The socket for <paramref name="address"/>, with systemd's fallbacks for the plain <c>vsock:</c> form.</summary>
    private static (Socket Socket, SocketType Type) CreateSocket(VmciNotifyAddress address)
    {
        if (address.SocketType is SocketType type)
        {
            return (VmciSocket.Create(type), type);
        }

        foreach (SocketType candidate in (ReadOnlySpan<SocketType>)[SocketType.Dgram, SocketType.Seqpacket])
        {
            try
            {
                return (VmciSocket.Create(candidate), candidate);
            }
            catch (VmciSocketException ex) when (ex.SocketErrorCode == SocketError.SocketNotSupported)
            {
                // No transport has this type (virtio and loopback have no datagrams): the next one.
            }
        }

        return (VmciSocket.Create(SocketType.Stream), SocketType.Stream);
    }

    /// <summary>Binds to a free port below 1024 when this process may; otherwise leaves the kernel to pick one at connect.</summary>
    private static void TryBindPrivilegedPort(Socket socket)
    {
        for (uint port = FirstPrivilegedPortTried; port > 0; port--)
        {
            try
            {
                VmciSocket.Bind(socket, new VmciEndPoint(VmciCid.Any, port));
                return;
            }
            catch (VmciSocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Taken: the next one down.
            }
            catch (VmciSocketException)
            {
                return; // not privileged (EACCES), or binding is not possible here: unbound, as an ordinary sender
            }
        }
    }
}

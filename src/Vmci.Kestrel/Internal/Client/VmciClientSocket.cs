using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// How the client side connects, for every endpoint kind: one place for options, so every client API
/// (<see cref="VmciConnectionFactory"/>, <see cref="VmciHttp"/>, the vmci tool) behaves alike.
/// </summary>
internal static class VmciClientSocket
{
    internal static ValueTask<Socket> ConnectAsync(EndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken) => endPoint switch
    {
        VmciEndPoint vsock => ConnectAsync(vsock, options, cancellationToken),
        // A Unix socket: the vsock buffer options do not apply; the connect timeout covers the retries and the handshake.
        HybridVsockEndPoint hybrid => HybridVsockSocket.ConnectAsync(hybrid, options.ConnectTimeout, cancellationToken),
        _ => throw NotSupported(endPoint),
    };

    /// <summary>The error for an endpoint this client cannot reach, naming the kinds it can.</summary>
    internal static ArgumentException NotSupported(EndPoint endPoint) => new(
        $"The vsock client connects to VmciEndPoint (vsock://CID:PORT) and HybridVsockEndPoint (hvsock:///PATH:PORT) only, not {endPoint.GetType().Name} {endPoint}.",
        nameof(endPoint));

    private static async ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        Socket socket = VmciSocket.Create(SocketType.Stream);
        try
        {
            if (options.ConnectTimeout is { } timeout)
            {
                socket.SetVmciConnectTimeout(timeout);
            }

            if (options.BufferSize is ulong size)
            {
                socket.SetVmciBufferSize(size);
            }

            await VmciSocket.ConnectAsync(socket, endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

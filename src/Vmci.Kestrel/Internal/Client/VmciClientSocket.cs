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
    internal static ValueTask<Socket> ConnectAsync(EndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        ThrowIfCannotConnectTo(endPoint);
        return endPoint switch
        {
            // A Unix socket: the vsock buffer options do not apply; the connect timeout covers the retries and the handshake.
            HybridVsockEndPoint hybrid => HybridVsockSocket.ConnectAsync(hybrid, options.ConnectTimeout, cancellationToken),
            _ => ConnectAsync((VmciEndPoint)endPoint, options, cancellationToken),
        };
    }

    /// <summary>The one check of every client API that an endpoint can be connected to (not 'any', not another kind).</summary>
    /// <exception cref="ArgumentException">It cannot; the message names the endpoint and the fix.</exception>
    internal static void ThrowIfCannotConnectTo(EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (!VmciEndPointParser.CanConnectTo(endPoint, out string? reason))
        {
            throw new ArgumentException(reason, nameof(endPoint));
        }
    }

    private static async ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        Socket socket = VmciSocket.Create(SocketType.Stream);
        try
        {
            if (options.ConnectTimeout is { } timeout)
            {
                socket.SetVmciConnectTimeout(timeout);
            }

            socket.SetVmciBufferSizes(options.BufferSize);

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

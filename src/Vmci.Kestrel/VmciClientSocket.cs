using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>How the client side connects: one place for options, so every client API behaves alike.</summary>
internal static class VmciClientSocket
{
    internal static async ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
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

using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Testing;

/// <summary>The only way tests connect: through <see cref="VsockGuard"/>.</summary>
internal static class TestSockets
{
    internal static ValueTask<Socket> ConnectAsync(VmciEndPoint target, CancellationToken cancellationToken)
    {
        VsockGuard.EnsureMayConnect(target);
        return VmciSocket.ConnectAsync(target, cancellationToken);
    }

    internal static ValueTask ConnectAsync(Socket socket, VmciEndPoint target, CancellationToken cancellationToken)
    {
        VsockGuard.EnsureMayConnect(target);
        return VmciSocket.ConnectAsync(socket, target, cancellationToken);
    }

    /// <summary>A listener on an ephemeral port of every local CID, and the CID 1 endpoint that reaches it.</summary>
    internal static (Socket Listener, VmciEndPoint Target) ListenOnLoopback(int backlog = VmciSocket.DefaultBacklog)
    {
        Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any), backlog);
        var bound = (VmciEndPoint)listener.LocalEndPoint!;
        return (listener, new VmciEndPoint(VmciCid.Local, bound.Port));
    }
}

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

    /// <summary>A CID 1 endpoint where nothing listens: a port that was bound a moment ago and is closed again.</summary>
    internal static VmciEndPoint ClosedLoopbackPort()
    {
        (Socket probe, VmciEndPoint target) = ListenOnLoopback();
        probe.Dispose();
        return target;
    }

    /// <summary>A listener on an ephemeral port of every local CID, and the CID 1 endpoint that reaches it.</summary>
    internal static (Socket Listener, VmciEndPoint Target) ListenOnLoopback(int backlog = VmciSocket.DefaultBacklog)
    {
        Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, VmciPort.Any), backlog);
        var bound = (VmciEndPoint)listener.LocalEndPoint!;
        return (listener, new VmciEndPoint(VmciCid.Local, bound.Port));
    }
}

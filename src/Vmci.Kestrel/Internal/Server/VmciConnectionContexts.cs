using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Both ends, and both endpoint kinds, wrap a connected socket the same way: Kestrel's socket connection,
/// our endpoints and the feature that says where the connection came through.
/// </summary>
internal static class VmciConnectionContexts
{
    internal static ConnectionContext Create(SocketConnectionContextFactory factory, Socket socket, VmciEndPoint local, VmciEndPoint remote)
    {
        ConnectionContext connection = Create(factory, socket, (EndPoint)local, remote);
        connection.Features.Set<IVmciConnectionFeature>(new VmciConnectionFeature(local, remote));
        return connection;
    }

    /// <summary>A connection through a VM's hybrid vsock Unix socket; <paramref name="endPoint"/> is the far end on a client, the listener on a server.</summary>
    internal static ConnectionContext Create(SocketConnectionContextFactory factory, Socket socket, HybridVsockEndPoint endPoint, bool accepted)
    {
        ConnectionContext connection = accepted
            ? Create(factory, socket, endPoint, socket.RemoteEndPoint)
            : Create(factory, socket, socket.LocalEndPoint, endPoint);
        connection.Features.Set<IHybridVsockConnectionFeature>(new HybridVsockConnectionFeature(endPoint));
        return connection;
    }

    private static ConnectionContext Create(SocketConnectionContextFactory factory, Socket socket, EndPoint? local, EndPoint? remote)
    {
        ConnectionContext connection = factory.Create(socket);
        connection.LocalEndPoint = local;
        connection.RemoteEndPoint = remote;
        return connection;
    }
}

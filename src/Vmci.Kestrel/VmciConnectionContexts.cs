using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>Both ends wrap a connected vsock socket the same way: Kestrel's socket connection, our endpoints and feature.</summary>
internal static class VmciConnectionContexts
{
    internal static ConnectionContext Create(SocketConnectionContextFactory factory, Socket socket, VmciEndPoint local, VmciEndPoint remote)
    {
        ConnectionContext connection = factory.Create(socket);
        connection.LocalEndPoint = local;
        connection.RemoteEndPoint = remote;
        connection.Features.Set<IVmciConnectionFeature>(new VmciConnectionFeature(local, remote));
        return connection;
    }
}

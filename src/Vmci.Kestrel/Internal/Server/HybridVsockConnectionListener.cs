using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Guests' connections to a host port, delivered by a Firecracker or Cloud Hypervisor VM to the Unix socket
/// <c>uds_path_PORT</c>; accepted sockets become the same Kestrel socket connections as vsock ones.
/// </summary>
/// <remarks>
/// The peer is always the VM that owns the socket, which the hypervisor names by neither CID nor port: the
/// connection count and the buffer budget apply per VM socket (<see cref="VmciPeerAdmission"/>), the allowed CIDs
/// and privileged ports cannot.
/// </remarks>
internal sealed class HybridVsockConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly HybridVsockEndPoint _endPoint;
    private readonly SocketConnectionContextFactory _connectionFactory;
    private readonly VmciPeerAdmission _admission;
    private readonly ILogger _logger;
    private readonly VmciAcceptLoop _acceptLoop;
    private int _unbound;

    private HybridVsockConnectionListener(Socket listenSocket, HybridVsockEndPoint endPoint, VmciListenerContext context)
    {
        _acceptLoop = new VmciAcceptLoop(listenSocket, endPoint, context.Metrics, context.Logger);
        _listenSocket = listenSocket;
        _endPoint = endPoint;
        _admission = context.Admission;
        _logger = context.Logger;
        _connectionFactory = context.CreateConnectionFactory();
    }

    public EndPoint EndPoint => _endPoint;

    internal static HybridVsockConnectionListener Bind(HybridVsockEndPoint endPoint, VmciListenerContext context)
    {
        VmciTransportOptions options = context.Options;
        Socket socket = HybridVsockSocket.Listen(endPoint, options.Backlog, options.HybridSocketFileMode);
        try
        {
            VmciTransportLog.HybridListening(context.Logger, endPoint, endPoint.ListenPath, endPoint.Port);
            return new HybridVsockConnectionListener(socket, endPoint, context);
        }
        catch
        {
            // Nobody else holds the socket yet: left open, it would keep its file and descriptor until the finalizer.
            socket.Dispose();
            throw;
        }
    }

    public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        => _acceptLoop.AcceptAsync(TryCreateConnection, cancellationToken);

    private ConnectionContext? TryCreateConnection(Socket accepted)
    {
        if (!_admission.TryAdmit(_endPoint, out VmciPeerSlot? slot))
        {
            accepted.Dispose();
            return null;
        }

        try
        {
            VmciTransportLog.HybridAccepted(_logger, _endPoint);
            ConnectionContext connection = VmciConnectionContexts.Create(_connectionFactory, accepted, _endPoint, accepted: true);
            if (slot is not null)
            {
                connection.ConnectionClosed.Register(static state => ((VmciPeerSlot)state!).Release(), slot);
            }

            return connection;
        }
        catch
        {
            // The accept loop closes the socket; its slot is freed here.
            slot?.Release();
            throw;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            // Disposing removes the socket file, unless another server's socket has replaced it (HybridVsockSocket.Listen).
            _listenSocket.Dispose();
            VmciTransportLog.HybridUnbound(_logger, _endPoint, _endPoint.ListenPath);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        _connectionFactory.Dispose();
    }
}

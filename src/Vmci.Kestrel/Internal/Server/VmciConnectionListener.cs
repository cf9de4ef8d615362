using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>One listening vsock socket; accepted sockets become Kestrel's socket connections.</summary>
internal sealed partial class VmciConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly SocketConnectionContextFactory _connectionFactory;
    private readonly VmciPeerAdmission _admission;
    private readonly VmciTransportMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly VmciAcceptLoop _acceptLoop;
    private int _unbound;

    private VmciConnectionListener(Socket listenSocket, VmciEndPoint endPoint, VmciListenerContext context)
    {
        _listenSocket = listenSocket;
        EndPoint = endPoint;
        _admission = context.Admission;
        _metrics = context.Metrics;
        _logger = context.Logger;
        _acceptLoop = new VmciAcceptLoop(listenSocket, endPoint, context.Metrics, context.Logger);
        _connectionFactory = context.CreateConnectionFactory();
    }

    /// <summary>The bound address, with the real port when <see cref="VmciPort.Any"/> was asked for.</summary>
    public EndPoint EndPoint { get; }

    internal static VmciConnectionListener Bind(VmciEndPoint endPoint, VmciListenerContext context)
    {
        VmciTransportOptions options = context.Options;
        Socket socket = VmciSocket.Listen(endPoint, options.Backlog, s => s.SetVmciBufferSizes(options.BufferSize, options.BufferMinSize, options.BufferMaxSize));
        try
        {
            var bound = (VmciEndPoint)socket.LocalEndPoint!;
            var listener = new VmciConnectionListener(socket, bound, context);
            VmciTransportLog.Listening(context.Logger, bound, options.Backlog);
            return listener;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        => _acceptLoop.AcceptAsync(TryCreateConnection, cancellationToken);

    private ConnectionContext? TryCreateConnection(Socket accepted)
    {
        VmciEndPoint remote;
        VmciEndPoint local;
        try
        {
            remote = (VmciEndPoint)accepted.RemoteEndPoint!;
            // .NET hands an accepted socket the listener's address (CID any); ask the kernel which CID was dialled.
            local = VmciSocket.GetLocalEndPoint(accepted);
        }
        catch (SocketException)
        {
            VmciTransportLog.AcceptReset(_logger);
            _metrics?.Rejected(VmciRejectionReason.ResetBeforeAccept, peerCid: null);
            accepted.Dispose();
            return null;
        }

        if (!_admission.TryAdmit(remote, local, out VmciPeerSlot? slot))
        {
            accepted.Dispose();
            return null;
        }

        try
        {
            VmciTransportLog.Accepted(_logger, remote, local);
            ConnectionContext connection = VmciConnectionContexts.Create(_connectionFactory, accepted, local, remote);
            if (slot is not null)
            {
                connection.ConnectionClosed.Register(static state => ((VmciPeerSlot)state!).Release(), slot);
            }

            return connection;
        }
        catch
        {
            // A log provider or the connection setup threw: the accept loop closes the socket; its slot is freed here.
            slot?.Release();
            throw;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            _listenSocket.Dispose();
            VmciTransportLog.Unbound(_logger, (VmciEndPoint)EndPoint);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        _connectionFactory.Dispose();
    }
}

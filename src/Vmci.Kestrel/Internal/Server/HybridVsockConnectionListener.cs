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
/// The per-peer options (<see cref="VmciTransportOptions.AllowedPeerCids"/> and the others) do not apply: the
/// hypervisor does not say which CID or port the guest used, and the peer is always the VM that owns the socket.
/// </remarks>
internal sealed class HybridVsockConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly HybridVsockEndPoint _endPoint;
    private readonly SocketConnectionContextFactory _connectionFactory;
    private readonly ILogger _logger;
    private readonly VmciAcceptLoop _acceptLoop;
    private int _unbound;

    private HybridVsockConnectionListener(Socket listenSocket, HybridVsockEndPoint endPoint, VmciTransportOptions options, VmciTransportMetrics? metrics, IMemoryPoolFactory<byte>? memoryPoolFactory, ILogger logger)
    {
        _acceptLoop = new VmciAcceptLoop(listenSocket, endPoint, metrics, logger);
        _listenSocket = listenSocket;
        _endPoint = endPoint;
        _logger = logger;
        _connectionFactory = VmciSocketConnectionOptions.ServerContextFactory(options, memoryPoolFactory, logger);
    }

    public EndPoint EndPoint => _endPoint;

    internal static HybridVsockConnectionListener Bind(HybridVsockEndPoint endPoint, VmciTransportOptions options, VmciTransportMetrics? metrics, IMemoryPoolFactory<byte>? memoryPoolFactory, ILogger logger)
    {
        Socket socket = HybridVsockSocket.Listen(endPoint, options.Backlog, options.HybridSocketFileMode);
        try
        {
            VmciTransportLog.HybridListening(logger, endPoint, endPoint.ListenPath, endPoint.Port);
            return new HybridVsockConnectionListener(socket, endPoint, options, metrics, memoryPoolFactory, logger);
        }
        catch
        {
            // Nobody else holds the socket yet: left open, it would keep its file and descriptor until the finalizer.
            socket.Dispose();
            throw;
        }
    }

    public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        => _acceptLoop.AcceptAsync(Wrap, cancellationToken);

    private ConnectionContext Wrap(Socket accepted)
    {
        VmciTransportLog.HybridAccepted(_logger, _endPoint);
        return VmciConnectionContexts.Create(_connectionFactory, accepted, _endPoint, accepted: true);
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

using System;
using System.Collections.Frozen;
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
    private readonly FrozenSet<uint> _allowedPeerCids;
    private readonly bool _requirePrivilegedPeerPort;
    private readonly int? _maxConnectionsPerPeerCid;
    private readonly bool _limitIsBudget;
    private readonly long _bufferedBytesPerConnection;
    private readonly long? _budget;
    private readonly VmciPeerConnectionCounter _peerConnections;
    private readonly VmciTransportMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly VmciAcceptLoop _acceptLoop;
    private int _unbound;

    private VmciConnectionListener(Socket listenSocket, VmciEndPoint endPoint, VmciTransportOptions options, VmciPeerConnectionCounter peerConnections, VmciTransportMetrics? metrics, IMemoryPoolFactory<byte>? memoryPoolFactory, ILogger logger)
    {
        _peerConnections = peerConnections;
        _metrics = metrics;
        _listenSocket = listenSocket;
        EndPoint = endPoint;
        _acceptLoop = new VmciAcceptLoop(listenSocket, endPoint, metrics, logger);
        _logger = logger;
        _allowedPeerCids = options.AllowedPeerCids.ToFrozenSet();
        _requirePrivilegedPeerPort = options.RequirePrivilegedPeerPort;
        _maxConnectionsPerPeerCid = options.EffectiveConnectionsPerPeerCid();
        // Which option set the limit, for the log: the explicit count, or the buffer budget.
        _limitIsBudget = _maxConnectionsPerPeerCid != options.MaxConnectionsPerPeerCid;
        _bufferedBytesPerConnection = options.BufferedBytesPerConnection();
        _budget = options.MaxBufferedBytesPerPeerCid;
        _connectionFactory = VmciSocketConnectionOptions.ServerContextFactory(options, memoryPoolFactory, logger);
    }

    /// <summary>The bound address, with the real port when <see cref="VmciPort.Any"/> was asked for.</summary>
    public EndPoint EndPoint { get; }

    internal static VmciConnectionListener Bind(VmciEndPoint endPoint, VmciTransportOptions options, VmciPeerConnectionCounter peerConnections, VmciTransportMetrics? metrics, IMemoryPoolFactory<byte>? memoryPoolFactory, ILogger logger)
    {
        Socket socket = VmciSocket.Listen(endPoint, options.Backlog, s => ApplyBufferSizes(s, options));
        try
        {
            var bound = (VmciEndPoint)socket.LocalEndPoint!;
            var listener = new VmciConnectionListener(socket, bound, options, peerConnections, metrics, memoryPoolFactory, logger);
            VmciTransportLog.Listening(logger, bound, options.Backlog);
            return listener;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void ApplyBufferSizes(Socket socket, VmciTransportOptions options)
    {
        // Max first and min next, so that a buffer size between them is not clamped by the old bounds.
        if (options.BufferMaxSize is ulong max)
        {
            socket.SetVmciBufferMaxSize(max);
        }

        if (options.BufferMinSize is ulong min)
        {
            socket.SetVmciBufferMinSize(min);
        }

        if (options.BufferSize is ulong size)
        {
            // A maximum set on purpose wins over the (default) size, which would otherwise raise it.
            socket.SetVmciBufferSize(options.BufferMaxSize is ulong limit ? Math.Min(size, limit) : size);
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

        if (_allowedPeerCids.Count > 0 && !_allowedPeerCids.Contains(remote.Cid))
        {
            VmciTransportLog.PeerRejected(_logger, remote, local, remote.Cid);
            _metrics?.Rejected(VmciRejectionReason.PeerCidNotAllowed, remote.Cid);
            accepted.Dispose();
            return null;
        }

        if (_requirePrivilegedPeerPort && !remote.IsPrivilegedPort)
        {
            VmciTransportLog.PeerPortNotPrivileged(_logger, remote, local);
            _metrics?.Rejected(VmciRejectionReason.PeerPortNotPrivileged, remote.Cid);
            accepted.Dispose();
            return null;
        }

        if (_maxConnectionsPerPeerCid is int limit && !_peerConnections.TryAdd(remote.Cid, limit))
        {
            if (_limitIsBudget)
            {
                VmciTransportLog.PeerBufferBudget(_logger, remote, local, remote.Cid, limit, _bufferedBytesPerConnection, _budget ?? 0);
                _metrics?.Rejected(VmciRejectionReason.PeerBufferBudget, remote.Cid);
            }
            else
            {
                VmciTransportLog.PeerConnectionLimit(_logger, remote, local, remote.Cid, limit);
                _metrics?.Rejected(VmciRejectionReason.PeerConnectionLimit, remote.Cid);
            }

            accepted.Dispose();
            return null;
        }

        VmciTransportLog.Accepted(_logger, remote, local);
        ConnectionContext connection = VmciConnectionContexts.Create(_connectionFactory, accepted, local, remote);
        if (_maxConnectionsPerPeerCid is not null)
        {
            uint cid = remote.Cid;
            connection.ConnectionClosed.Register(() => _peerConnections.Release(cid));
        }

        return connection;
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

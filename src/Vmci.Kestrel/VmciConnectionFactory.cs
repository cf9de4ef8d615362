using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// The client end of the transport: connects to a <see cref="VmciEndPoint"/> (AF_VSOCK) or a
/// <see cref="HybridVsockEndPoint"/> (a Firecracker or Cloud Hypervisor VM's Unix socket) and returns the same
/// kind of pipe-based <see cref="ConnectionContext"/> the server gets, with <see cref="IVmciConnectionFeature"/>
/// or <see cref="IHybridVsockConnectionFeature"/>.
/// </summary>
public sealed class VmciConnectionFactory : IConnectionFactory, IDisposable
{
    private readonly VmciConnectionFactoryOptions _options;
    private readonly ILogger _logger;
    private readonly SocketConnectionContextFactory _contextFactory;

    /// <summary>Creates a factory with default options.</summary>
    public VmciConnectionFactory()
        : this(Options.Create(new VmciConnectionFactoryOptions()), NullLoggerFactory.Instance)
    {
    }

    /// <summary>Creates a factory.</summary>
    public VmciConnectionFactory(IOptions<VmciConnectionFactoryOptions> options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("Vmci.Kestrel");
        _contextFactory = new SocketConnectionContextFactory(
            VmciSocketConnectionOptions.Create(_options.IOQueueCount, waitForData: true, _options.MaxReadBufferSize, _options.MaxWriteBufferSize, preferInlineScheduling: false),
            _logger);
    }

    /// <summary>Connects to <paramref name="endpoint"/>, a <see cref="VmciEndPoint"/> or a <see cref="HybridVsockEndPoint"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="endpoint"/> is another kind of endpoint, or says 'any'.</exception>
    /// <exception cref="VmciSocketException">Refused, unreachable or timed out; the message names the endpoint and the cause.</exception>
    /// <exception cref="HybridVsockException">The VM's socket is missing, stale or not accessible, the guest never accepted, or the hypervisor's answer was wrong; the message names the path, the port and the cause.</exception>
    /// <exception cref="TimeoutException">
    /// With <see cref="VmciConnectionFactoryOptions.ConnectRetryTimeout"/>: the peer was not there within it; the message names the
    /// endpoint and the time waited, the inner exception is the last attempt's.
    /// </exception>
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        Socket socket = await VmciClientSocket.ConnectAsync(endpoint, _options, cancellationToken).ConfigureAwait(false);
        try
        {
            if (endpoint is HybridVsockEndPoint hybrid)
            {
                VmciTransportLog.HybridConnected(_logger, hybrid);
                return VmciConnectionContexts.Create(_contextFactory, socket, hybrid, accepted: false);
            }

            var target = (VmciEndPoint)endpoint;
            VmciEndPoint local = VmciSocket.GetLocalEndPoint(socket);
            VmciTransportLog.Connected(_logger, target, local);
            return VmciConnectionContexts.Create(_contextFactory, socket, local, target);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Connects a bare socket to <paramref name="endPoint"/> with the client options applied (connect timeout, buffer
    /// size), for callers that move the bytes themselves, such as a port forwarder.
    /// </summary>
    /// <param name="endPoint">A <see cref="VmciEndPoint"/> or a <see cref="HybridVsockEndPoint"/>.</param>
    /// <param name="options">The client options; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>A connected stream socket, the caller's to dispose.</returns>
    /// <exception cref="ArgumentException"><paramref name="endPoint"/> is another kind of endpoint, or says 'any'.</exception>
    /// <exception cref="VmciSocketException">Refused, unreachable or timed out; the message names the endpoint and the cause.</exception>
    /// <exception cref="HybridVsockException">The VM's socket is missing, stale or not accessible, or the handshake failed.</exception>
    public static ValueTask<Socket> ConnectSocketAsync(EndPoint endPoint, VmciConnectionFactoryOptions? options = null, CancellationToken cancellationToken = default)
        => VmciClientSocket.ConnectAsync(endPoint, options ?? new VmciConnectionFactoryOptions(), cancellationToken);

    /// <summary>Releases the memory pool shared by this factory's connections.</summary>
    public void Dispose() => _contextFactory.Dispose();
}

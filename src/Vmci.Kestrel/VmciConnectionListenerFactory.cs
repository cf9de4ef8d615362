using System;
using System.Diagnostics.Metrics;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// Kestrel's server transport for vsock: binds <see cref="VmciEndPoint"/>s and produces pipe-based
/// <see cref="ConnectionContext"/>s. It binds nothing else, so it sits beside the sockets transport
/// and one server can listen on TCP and vsock at once.
/// </summary>
public sealed class VmciConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly VmciTransportOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly VmciPeerConnectionCounter _peerConnections = new();
    private readonly VmciInheritedListeners _inherited = new();
    private readonly VmciTransportMetrics? _metrics;

    /// <summary>Creates the factory without metrics.</summary>
    public VmciConnectionListenerFactory(IOptions<VmciTransportOptions> options, ILoggerFactory loggerFactory)
        : this(options, loggerFactory, meterFactory: null)
    {
    }

    /// <summary>Creates the factory; <c>UseVmci</c> registers it for Kestrel, with the app's meter factory.</summary>
    /// <param name="options">The transport options.</param>
    /// <param name="loggerFactory">Where the transport logs.</param>
    /// <param name="meterFactory">Creates the <c>Vmci.Kestrel</c> meter that counts refused connections by reason; null for none.</param>
    public VmciConnectionListenerFactory(IOptions<VmciTransportOptions> options, ILoggerFactory loggerFactory, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _loggerFactory = loggerFactory;
        _metrics = meterFactory is null ? null : new VmciTransportMetrics(meterFactory);
    }

    /// <summary>
    /// True for <see cref="VmciEndPoint"/>s, and for <see cref="FileHandleEndPoint"/>s (Kestrel's <c>ListenHandle</c>,
    /// <c>UseSystemd</c>) of listening vsock sockets, such as systemd passes to a socket-activated service.
    /// </summary>
    public bool CanBind(EndPoint endpoint) => endpoint is VmciEndPoint || VmciInheritedListeners.IsVsockHandle(endpoint, out _);

    /// <summary>Binds and listens on a <see cref="VmciEndPoint"/>, or serves an inherited listening vsock socket.</summary>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is neither a <see cref="VmciEndPoint"/> nor a listening vsock socket's handle.</exception>
    /// <exception cref="VmciSocketException">The port is in use or privileged, or the kernel has no AF_VSOCK; the message names the endpoint and the fix.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (VmciInheritedListeners.IsVsockHandle(endpoint, out int fileDescriptor))
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new ValueTask<IConnectionListener>(_inherited.Bind(fileDescriptor, _options, _peerConnections, _metrics, _loggerFactory.CreateLogger("Vmci.Kestrel")));
        }

        if (endpoint is not VmciEndPoint vmciEndPoint)
        {
            throw new NotSupportedException($"The vsock transport binds VmciEndPoint (vsock://CID:PORT) only, not {endpoint.GetType().Name} {endpoint}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        IConnectionListener listener = VmciConnectionListener.Bind(vmciEndPoint, _options, _peerConnections, _metrics, _loggerFactory.CreateLogger("Vmci.Kestrel"));
        return new ValueTask<IConnectionListener>(listener);
    }
}

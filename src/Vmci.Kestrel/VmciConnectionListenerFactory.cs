using System;
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
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory;
    private readonly VmciPeerConnectionCounter _peerConnections = new();

    /// <summary>Creates the factory with <c>MemoryPool&lt;byte&gt;.Shared</c> for its connections' buffers.</summary>
    public VmciConnectionListenerFactory(IOptions<VmciTransportOptions> options, ILoggerFactory loggerFactory)
        : this(options, loggerFactory, memoryPoolFactory: null)
    {
    }

    /// <summary>
    /// Creates the factory; <c>UseVmci</c> registers it for Kestrel, which supplies <paramref name="memoryPoolFactory"/>:
    /// vsock connections then rent their buffers from the same pinned-block pool (eviction, metrics) as Kestrel's TCP ones.
    /// </summary>
    public VmciConnectionListenerFactory(IOptions<VmciTransportOptions> options, ILoggerFactory loggerFactory, IMemoryPoolFactory<byte>? memoryPoolFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _loggerFactory = loggerFactory;
        _memoryPoolFactory = memoryPoolFactory;
    }

    /// <summary>True for <see cref="VmciEndPoint"/>s only.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is VmciEndPoint;

    /// <summary>Binds and listens on a <see cref="VmciEndPoint"/>.</summary>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is not a <see cref="VmciEndPoint"/>.</exception>
    /// <exception cref="VmciSocketException">The port is in use or privileged, or the kernel has no AF_VSOCK; the message names the endpoint and the fix.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not VmciEndPoint vmciEndPoint)
        {
            throw new NotSupportedException($"The vsock transport binds VmciEndPoint (vsock://CID:PORT) only, not {endpoint.GetType().Name} {endpoint}.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        IConnectionListener listener = VmciConnectionListener.Bind(vmciEndPoint, _options, _peerConnections, _loggerFactory.CreateLogger("Vmci.Kestrel"), _memoryPoolFactory);
        return new ValueTask<IConnectionListener>(listener);
    }
}

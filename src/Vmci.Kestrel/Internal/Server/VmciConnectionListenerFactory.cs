using System;
using System.Diagnostics.Metrics;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Kestrel's server transport for vsock: binds <see cref="VmciEndPoint"/>s (AF_VSOCK) and
/// <see cref="HybridVsockEndPoint"/>s (guests' connections to the host through a Firecracker or Cloud Hypervisor
/// VM's Unix socket) and produces pipe-based <see cref="ConnectionContext"/>s. It binds nothing else, so it sits
/// beside the sockets transport and one server can listen on TCP and vsock at once.
/// </summary>
internal sealed class VmciConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly VmciListenerContext _context;
    private readonly VmciActivatedListeners _activated = new();

    /// <summary>Creates the factory; <c>UseVmci</c> registers it for Kestrel, which supplies the meter and memory pool factories.</summary>
    /// <param name="options">The transport options.</param>
    /// <param name="loggerFactory">Where the transport logs.</param>
    /// <param name="meterFactory">Creates the <c>Vmci.Kestrel</c> meter that counts refused connections by reason; null for none.</param>
    /// <param name="memoryPoolFactory">
    /// Kestrel's pool factory: vsock connections then rent their buffers from the same pinned-block pool (eviction, metrics)
    /// as Kestrel's TCP ones; null for <c>MemoryPool&lt;byte&gt;.Shared</c>.
    /// </param>
    /// <param name="time">The clock of the refusal logs' rate limits: the host's <see cref="TimeProvider"/> if it registers one (tests do), else the system's.</param>
    public VmciConnectionListenerFactory(IOptions<VmciTransportOptions> options, ILoggerFactory loggerFactory, IMeterFactory? meterFactory = null, IMemoryPoolFactory<byte>? memoryPoolFactory = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        VmciTransportMetrics? metrics = meterFactory is null ? null : new VmciTransportMetrics(meterFactory);
        _context = new VmciListenerContext(options.Value, loggerFactory.CreateLogger("Vmci.Kestrel"), metrics, memoryPoolFactory, time);
    }

    /// <summary>
    /// True for <see cref="VmciEndPoint"/>s, <see cref="HybridVsockEndPoint"/>s, and <see cref="FileHandleEndPoint"/>s
    /// (Kestrel's <c>ListenHandle</c>, <c>UseSystemd</c>) of listening vsock sockets, such as systemd passes to a
    /// socket-activated service.
    /// </summary>
    public bool CanBind(EndPoint endpoint) => endpoint is VmciEndPoint or HybridVsockEndPoint || _activated.IsVsockHandle(endpoint, out _);

    /// <summary>
    /// Binds and listens on a <see cref="VmciEndPoint"/>, at the Unix socket of a <see cref="HybridVsockEndPoint"/>,
    /// or serves an inherited listening vsock socket.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="endpoint"/> is none of those.</exception>
    /// <exception cref="VmciSocketException">The port is in use or privileged, or the kernel has no AF_VSOCK; the message names the endpoint and the fix.</exception>
    /// <exception cref="HybridVsockException">The hybrid socket path is in use by a live server, not a socket, or cannot be created.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();
        IConnectionListener listener = endpoint switch
        {
            VmciEndPoint vmciEndPoint => VmciConnectionListener.Bind(vmciEndPoint, _context),
            HybridVsockEndPoint hybrid => HybridVsockConnectionListener.Bind(hybrid, _context),
            _ when _activated.IsVsockHandle(endpoint, out int fileDescriptor) => _activated.Bind(fileDescriptor, _context),
            _ => throw new NotSupportedException($"The vsock transport binds VmciEndPoint (vsock://CID:PORT), HybridVsockEndPoint (hvsock:///PATH:PORT) and inherited listening vsock sockets only, not {endpoint.GetType().Name} {endpoint}."),
        };
        return new ValueTask<IConnectionListener>(listener);
    }
}

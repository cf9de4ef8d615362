using System;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// What every listener of one server shares, built once by the listener factory: the options, the admission
/// rules and their counters, the metrics, the host's memory pool and the logger.
/// </summary>
internal sealed class VmciListenerContext
{
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory;

    internal VmciListenerContext(VmciTransportOptions options, ILogger logger, VmciTransportMetrics? metrics, IMemoryPoolFactory<byte>? memoryPoolFactory, TimeProvider? time)
    {
        Options = options;
        Logger = logger;
        Metrics = metrics;
        _memoryPoolFactory = memoryPoolFactory;
        Admission = new VmciPeerAdmission(options, metrics, logger, time);
    }

    internal VmciTransportOptions Options { get; }

    internal VmciPeerAdmission Admission { get; }

    internal VmciTransportMetrics? Metrics { get; }

    internal ILogger Logger { get; }

    /// <summary>A listener's own connection factory (it owns and disposes it): the same options and pool for every endpoint kind.</summary>
    internal SocketConnectionContextFactory CreateConnectionFactory()
        => VmciSocketConnectionOptions.ServerContextFactory(Options, _memoryPoolFactory, Logger);
}

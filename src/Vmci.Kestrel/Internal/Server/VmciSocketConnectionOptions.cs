using System;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Vmci.Kestrel.Internal;

/// <summary>The options of Kestrel's socket connection code, which both ends of the transport reuse.</summary>
internal static class VmciSocketConnectionOptions
{
    // memoryPoolFactory: the host's (Kestrel registers its pinned-block pool, with eviction and metrics, as
    // IMemoryPoolFactory<byte>); null keeps the options' own default, MemoryPool<byte>.Shared.
    internal static SocketConnectionFactoryOptions Create(int ioQueueCount, bool waitForData, long? maxReadBufferSize, long? maxWriteBufferSize, bool preferInlineScheduling, IMemoryPoolFactory<byte>? memoryPoolFactory = null)
    {
        var options = new SocketConnectionFactoryOptions
        {
            IOQueueCount = ioQueueCount,
            WaitForDataBeforeAllocatingBuffer = waitForData,
            MaxReadBufferSize = maxReadBufferSize,
            MaxWriteBufferSize = maxWriteBufferSize,
            UnsafePreferInlineScheduling = preferInlineScheduling,
        };
        if (memoryPoolFactory is not null)
        {
            // Kestrel's own sockets transport hands its options the DI pool through this internal setter; the public
            // constructor has no way to. Without it, vsock connections rent from MemoryPool<byte>.Shared, which costs
            // allocations per request that TCP connections on the same server do not pay.
            try
            {
                SetMemoryPoolFactory(options, memoryPoolFactory);
            }
            catch (MissingMethodException)
            {
                // A framework without the setter: the shared pool still works, only less well.
            }
        }

        return options;
    }

    /// <summary>
    /// The connection factory of a server listener, whatever its endpoint kind: the transport's options and the
    /// host's memory pool, so that bound, inherited and hybrid vsock connections behave alike.
    /// </summary>
    internal static SocketConnectionContextFactory ServerContextFactory(VmciTransportOptions options, IMemoryPoolFactory<byte>? memoryPoolFactory, ILogger logger)
        => new(Create(options.IOQueueCount, options.WaitForDataBeforeAllocatingBuffer, options.MaxReadBufferSize, options.MaxWriteBufferSize, options.UnsafePreferInlineScheduling, memoryPoolFactory), logger);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_MemoryPoolFactory")]
    private static extern void SetMemoryPoolFactory(SocketConnectionFactoryOptions options, IMemoryPoolFactory<byte> value);
}

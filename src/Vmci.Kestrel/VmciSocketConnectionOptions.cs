using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Vmci.Kestrel;

/// <summary>The options of Kestrel's socket connection code, which both ends of the transport reuse.</summary>
internal static class VmciSocketConnectionOptions
{
    internal static SocketConnectionFactoryOptions Create(int ioQueueCount, bool waitForData, long? maxReadBufferSize, long? maxWriteBufferSize, bool preferInlineScheduling) => new()
    {
        IOQueueCount = ioQueueCount,
        WaitForDataBeforeAllocatingBuffer = waitForData,
        MaxReadBufferSize = maxReadBufferSize,
        MaxWriteBufferSize = maxWriteBufferSize,
        UnsafePreferInlineScheduling = preferInlineScheduling,
    };
}

using System;
using Vmci.Kestrel.Internal;

namespace Vmci.Kestrel;

/// <summary>Options of the vsock client side: <see cref="VmciConnectionFactory"/> and <see cref="VmciHttp"/>.</summary>
public sealed class VmciConnectionFactoryOptions
{
    /// <summary>
    /// How long a connect waits for the peer before it fails (SO_VM_SOCKETS_CONNECT_TIMEOUT); for a
    /// <c>HybridVsockEndPoint</c>, how long it keeps retrying the hypervisor's handshake.
    /// </summary>
    /// <remarks>Defaults to null: the kernel's default, 2 seconds on Linux (and 2 seconds for hybrid vsock).</remarks>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>
    /// How long a connect keeps trying while the peer is not there yet: a guest that is still booting, or whose
    /// server does not listen yet. A connect that is reset (nothing listens on the port), refused, timed out, or
    /// finds no transport for the CID (ENODEV: the guest is not started), and for hybrid vsock a missing socket
    /// file or a guest that never accepted, is tried again after 20 ms, the pause doubling up to 1 s, until this
    /// much time has passed since the first attempt; then the connect fails with a <see cref="TimeoutException"/>
    /// that names the endpoint, the time waited and the last attempt's error (its inner exception). Other errors
    /// (no AF_VSOCK, a denied socket file, a bad hypervisor answer) fail at once.
    /// </summary>
    /// <remarks>
    /// Defaults to null: one attempt (hybrid vsock still retries its handshake within <see cref="ConnectTimeout"/>,
    /// as the hypervisors' own clients do). Each attempt is bounded by <see cref="ConnectTimeout"/>.
    /// </remarks>
    public TimeSpan? ConnectRetryTimeout { get; set; }

    /// <summary>The vsock buffer size of each connection in bytes (SO_VMCI_BUFFER_SIZE); the maximum is raised to match.</summary>
    /// <remarks>
    /// Defaults to 4 MiB (<see cref="VmciTransportOptions.DefaultBufferSize"/>), as the server; null keeps the
    /// kernel's default (256 KiB on Linux). This is the window the server may send into before the client
    /// reads: see <see cref="VmciTransportOptions.BufferSize"/>.
    /// </remarks>
    public ulong? BufferSize { get; set; } = VmciTransportOptions.DefaultBufferSize;

    /// <summary>How many bytes a connection buffers from the peer before it stops reading. Null means no limit.</summary>
    /// <remarks>Defaults to 1 MiB. Applies to <see cref="VmciConnectionFactory"/>, not to HttpClient, which has its own buffering.</remarks>
    public long? MaxReadBufferSize { get; set; } = VmciDefaults.MaxReadBufferSize;

    /// <summary>How many bytes a connection buffers for the peer before writes wait. Null means no limit.</summary>
    /// <remarks>Defaults to 64 KiB. Applies to <see cref="VmciConnectionFactory"/>, not to HttpClient.</remarks>
    public long? MaxWriteBufferSize { get; set; } = VmciDefaults.MaxWriteBufferSize;

    /// <summary>The number of I/O queues that schedule connection callbacks of <see cref="VmciConnectionFactory"/>.</summary>
    /// <remarks>Defaults to the processor count, capped at 16.</remarks>
    public int IOQueueCount { get; set; } = VmciDefaults.IOQueueCount;
}

using System.Collections.Generic;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>Options of the vsock server transport (<c>UseVmci</c>).</summary>
public sealed class VmciTransportOptions
{
    /// <summary>The listen backlog: connections the kernel queues before the server accepts them.</summary>
    /// <remarks>Defaults to 512. A connect that finds the backlog full is reset at once by vsock.</remarks>
    public int Backlog { get; set; } = VmciSocket.DefaultBacklog;

    /// <summary>
    /// The vsock buffer size of each connection in bytes (the guide's SO_VMCI_BUFFER_SIZE), set on the
    /// listener before listen so that accepted connections inherit it; the maximum is raised to match.
    /// </summary>
    /// <remarks>
    /// Defaults to 4 MiB (<see cref="DefaultBufferSize"/>); null keeps the kernel's default (256 KiB on Linux).
    /// The buffer is vsock's flow-control window, not memory set aside: the kernel holds data only while the
    /// server has not read it. With the kernel's 256 KiB, a sender stalls on every window, and large uploads run
    /// markedly slower than over TCP loopback (whose own window grows to a few MiB by itself).
    /// </remarks>
    public ulong? BufferSize { get; set; } = DefaultBufferSize;

    /// <summary>The default <see cref="BufferSize"/> of the server and of the client: 4 MiB.</summary>
    public const ulong DefaultBufferSize = 4 * 1024 * 1024;

    /// <summary>The vsock minimum buffer size in bytes (SO_VMCI_BUFFER_MIN_SIZE), set before listen.</summary>
    /// <remarks>Defaults to null: the kernel's default (128 bytes on Linux).</remarks>
    public ulong? BufferMinSize { get; set; }

    /// <summary>The vsock maximum buffer size in bytes (SO_VMCI_BUFFER_MAX_SIZE), set before listen.</summary>
    /// <remarks>Defaults to null: the kernel's default (262144 bytes on Linux), raised to <see cref="BufferSize"/>; when set, it also caps <see cref="BufferSize"/>.</remarks>
    public ulong? BufferMaxSize { get; set; }

    /// <summary>
    /// How many bytes a connection buffers from the peer before it stops reading (backpressure).
    /// Null means no limit.
    /// </summary>
    /// <remarks>Defaults to 1 MiB, as Kestrel's socket transport.</remarks>
    public long? MaxReadBufferSize { get; set; } = VmciDefaults.MaxReadBufferSize;

    /// <summary>
    /// How many bytes a connection buffers for the peer before writes wait (backpressure).
    /// Null means no limit.
    /// </summary>
    /// <remarks>Defaults to 64 KiB, as Kestrel's socket transport.</remarks>
    public long? MaxWriteBufferSize { get; set; } = VmciDefaults.MaxWriteBufferSize;

    /// <summary>
    /// The CIDs allowed to connect. A connection from any other CID is closed right after accept,
    /// before a byte of it is read, and logged. Empty means every CID may connect.
    /// </summary>
    /// <remarks>
    /// Defaults to empty (everyone). The peer CID is assigned by the hypervisor, so a guest cannot
    /// claim another guest's CID.
    /// </remarks>
    public ISet<uint> AllowedPeerCids { get; } = new HashSet<uint>();

    /// <summary>
    /// The most connections one peer CID may have open at once, over all of the server's vsock endpoints
    /// together; a connection over the limit is closed right
    /// after accept, before a byte of it is read, and logged. Null means no limit.
    /// </summary>
    /// <remarks>
    /// Defaults to null. Kestrel's own <c>Limits.MaxConcurrentConnections</c> caps all peers together; this caps
    /// each VM, so that one guest cannot take every connection slot. On a hybrid vsock endpoint the peer is the VM
    /// that owns the Unix socket (all its ports together), since the hypervisor does not say the CID.
    /// </remarks>
    public int? MaxConnectionsPerPeerCid { get; set; }

    /// <summary>
    /// The most bytes one peer CID may make this server hold for it: every connection can hold up to its vsock
    /// window (<see cref="BufferSize"/>) in the kernel plus <see cref="MaxReadBufferSize"/> in its pipe while the
    /// application does not read, so a CID may have at most this many bytes divided by that sum connections open
    /// at once (and never fewer than one). A connection over it is closed right after accept, before a byte of it
    /// is read, and logged. Null means no budget.
    /// </summary>
    /// <remarks>
    /// Defaults to 1 GiB (<see cref="DefaultMaxBufferedBytesPerPeerCid"/>): 204 connections per CID with the
    /// default 4 MiB window and 1 MiB read buffer, 819 with the kernel's 256 KiB window. Without it, one guest
    /// that opens connections, sends and never lets the server read could pin 5 MiB of host memory per connection.
    /// Raise it, or set it to null, for a trusted peer that needs
    /// more connections (a load generator); <see cref="MaxConnectionsPerPeerCid"/> applies as well.
    /// With <see cref="MaxReadBufferSize"/> null a pipe has no bound, and the budget counts the window only.
    /// On a hybrid vsock endpoint the budget applies per VM socket, as <see cref="MaxConnectionsPerPeerCid"/> does.
    /// </remarks>
    public long? MaxBufferedBytesPerPeerCid { get; set; } = DefaultMaxBufferedBytesPerPeerCid;

    /// <summary>The default <see cref="MaxBufferedBytesPerPeerCid"/>: 1 GiB.</summary>
    public const long DefaultMaxBufferedBytesPerPeerCid = 1L << 30;

    /// <summary>
    /// Whether to accept only peers whose port is below 1024. On Linux binding such a port needs
    /// CAP_NET_BIND_SERVICE, so this admits privileged processes of the peer VM only (as far as that VM's
    /// kernel can be trusted). Others are closed before a byte is read, and logged.
    /// </summary>
    /// <remarks>Defaults to false. Clients must bind a low port before connecting (<c>VmciSocket.Bind</c>).</remarks>
    public bool RequirePrivilegedPeerPort { get; set; }

    /// <summary>The number of I/O queues that schedule connection callbacks.</summary>
    /// <remarks>Defaults to the processor count, capped at 16, as Kestrel's socket transport; 0 schedules I/O callbacks on the thread pool directly.</remarks>
    public int IOQueueCount { get; set; } = VmciDefaults.IOQueueCount;

    /// <summary>Whether a connection waits for data before it rents a receive buffer.</summary>
    /// <remarks>Defaults to true, as Kestrel's socket transport.</remarks>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    /// <summary>Whether to run application code inline on the I/O thread. Unsafe: blocking code stalls the transport.</summary>
    /// <remarks>Defaults to false.</remarks>
    public bool UnsafePreferInlineScheduling { get; set; }

    /// <summary>
    /// The mode of the socket file a hybrid vsock listener creates (<c>uds_path_PORT</c>), whatever the process's
    /// umask. Connecting to a Unix socket needs write permission on it, and whoever connects there is served as the
    /// guest: give write permission to the hypervisor's user only. Configuration takes it in octal
    /// (<c>Vmci:Transport:HybridSocketFileMode=0660</c>).
    /// </summary>
    /// <remarks>
    /// Defaults to 0600 (<see cref="HybridVsockSocket.DefaultSocketFileMode"/>): only the server's own user, for a
    /// hypervisor that runs as the same user. 0660 lets a hypervisor of the file's group in. Permission bits only.
    /// </remarks>
    public System.IO.UnixFileMode HybridSocketFileMode { get; set; } = HybridVsockSocket.DefaultSocketFileMode;
}

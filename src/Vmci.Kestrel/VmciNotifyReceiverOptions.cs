using System;
using System.Net.Sockets;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>Options of a <see cref="VmciNotifyReceiver"/>.</summary>
public sealed class VmciNotifyReceiverOptions
{
    /// <summary>
    /// <see cref="System.Net.Sockets.SocketType.Stream"/> (one message per connection, read until the sender shuts
    /// it down: systemd-vmspawn's choice, and the only one hybrid vsock carries) or
    /// <see cref="System.Net.Sockets.SocketType.Seqpacket"/> (each packet one message).
    /// </summary>
    /// <remarks>Defaults to <see cref="System.Net.Sockets.SocketType.Stream"/>.</remarks>
    public SocketType SocketType { get; set; } = SocketType.Stream;

    /// <summary>The largest message read; a longer one is refused, logged and counted.</summary>
    /// <remarks>Defaults to <see cref="VmciNotify.MaxMessageBytes"/> (4096, systemd's limit).</remarks>
    public int MaxMessageBytes { get; set; } = VmciNotify.MaxMessageBytes;

    /// <summary>How long a sender may take from connecting to ending its message; a slower one is refused and closed.</summary>
    /// <remarks>Defaults to 10 seconds.</remarks>
    public TimeSpan MessageTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many connections one CID may have open at once; further ones are closed unread, logged (rate-limited)
    /// and counted, so that a guest that floods the receiver cannot take it from the others.
    /// </summary>
    /// <remarks>Defaults to 8. A hybrid vsock receiver counts its one VM as one CID.</remarks>
    public int MaxConnectionsPerCid { get; set; } = 8;

    /// <summary>How many received notifications wait for <see cref="VmciNotifyReceiver.ReadAllAsync"/>; beyond that the oldest are dropped.</summary>
    /// <remarks>Defaults to 1024. Readiness (<see cref="VmciNotifyReceiver.WaitForReadyAsync(uint, TimeSpan, System.Threading.CancellationToken)"/>) is kept apart and never dropped.</remarks>
    public int Capacity { get; set; } = 1024;

    /// <summary>The listen backlog.</summary>
    /// <remarks>Defaults to 128.</remarks>
    public int Backlog { get; set; } = 128;

    internal void Validate()
    {
        if (SocketType is not (SocketType.Stream or SocketType.Seqpacket))
        {
            throw new ArgumentOutOfRangeException(nameof(SocketType), SocketType, "A notify receiver listens on a stream or seqpacket socket (vsock datagrams exist only on VMware's VMCI transport).");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxMessageBytes, nameof(MaxMessageBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MessageTimeout, TimeSpan.Zero, nameof(MessageTimeout));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConnectionsPerCid, nameof(MaxConnectionsPerCid));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Capacity, nameof(Capacity));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Backlog, nameof(Backlog));
    }
}

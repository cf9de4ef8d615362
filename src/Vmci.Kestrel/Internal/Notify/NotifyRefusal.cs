namespace Vmci.Kestrel.Internal;

/// <summary>Why a notify receiver refused a message (the tag of <c>vmci.notify.rejected_messages</c>).</summary>
internal enum NotifyRefusal
{
    /// <summary>Longer than <see cref="VmciNotifyReceiverOptions.MaxMessageBytes"/>.</summary>
    Oversized,

    /// <summary>Not valid UTF-8, or it holds a NUL byte.</summary>
    NotUtf8,

    /// <summary>A line without <c>=</c>, or with an empty key.</summary>
    Malformed,

    /// <summary>No bytes before the end of the connection.</summary>
    Empty,

    /// <summary>The sender did not end its message within <see cref="VmciNotifyReceiverOptions.MessageTimeout"/>.</summary>
    Timeout,

    /// <summary>The sender's CID already had <see cref="VmciNotifyReceiverOptions.MaxConnectionsPerCid"/> connections open.</summary>
    ConnectionLimit,

    /// <summary>The connection failed while the message was read.</summary>
    ReceiveFailed,
}

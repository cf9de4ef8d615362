using System;
using System.Net;
using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>The notify protocol's log messages (both ends), event IDs 40-49. Event IDs are stable: tools and alerts may rely on them.</summary>
internal static partial class NotifyLog
{
    [LoggerMessage(40, LogLevel.Information, "Receiving sd_notify messages on {EndPoint} ({SocketType}); guests send to {GuestAddress}.", EventName = "NotifyListening")]
    public static partial void Listening(ILogger logger, EndPoint endPoint, string socketType, VmciNotifyAddress guestAddress);

    [LoggerMessage(41, LogLevel.Debug, "Notification from {Peer} on {EndPoint}: {Fields}.", EventName = "NotifyReceived")]
    public static partial void Received(ILogger logger, string peer, EndPoint endPoint, string fields);

    [LoggerMessage(42, LogLevel.Warning, "Refused a notify message from {Peer} on {EndPoint}: {Reason} ({Suppressed} more refused since the last such message).", EventName = "NotifyRefused")]
    public static partial void Refused(ILogger logger, string peer, EndPoint endPoint, string reason, long suppressed);

    [LoggerMessage(43, LogLevel.Error, "Accepting notify connections on {EndPoint} failed; retrying ({Suppressed} more failures since the last such message).", EventName = "NotifyAcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, EndPoint endPoint, long suppressed, Exception exception);

    [LoggerMessage(44, LogLevel.Information, "Stopped receiving sd_notify messages on {EndPoint}.", EventName = "NotifyStopped")]
    public static partial void Stopped(ILogger logger, EndPoint endPoint);

    [LoggerMessage(45, LogLevel.Debug, "Sent {State} to the notify socket {Address}.", EventName = "NotifySent")]
    public static partial void Sent(ILogger logger, string state, VmciNotifyAddress address);

    [LoggerMessage(46, LogLevel.Warning, "Could not send {State} to the notify socket {Address} (NOTIFY_SOCKET): {Reason}", EventName = "NotifySendFailed")]
    public static partial void SendFailed(ILogger logger, string state, VmciNotifyAddress address, string reason);

    [LoggerMessage(47, LogLevel.Warning, "NOTIFY_SOCKET is set but is not a usable vsock address, so no readiness is sent: {Reason}", EventName = "NotifyAddressInvalid")]
    public static partial void AddressInvalid(ILogger logger, string reason);
}

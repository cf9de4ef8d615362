using Microsoft.Extensions.Logging;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>The transport's log messages. Event IDs are stable: tools and alerts may rely on them.</summary>
internal static partial class VmciTransportLog
{
    [LoggerMessage(1, LogLevel.Information, "Listening on {EndPoint} (vsock, backlog {Backlog}).", EventName = "Listening")]
    public static partial void Listening(ILogger logger, VmciEndPoint endPoint, int backlog);

    [LoggerMessage(2, LogLevel.Warning, "Closed a connection from {RemoteEndPoint} to {LocalEndPoint} before reading it: CID {PeerCid} is not in AllowedPeerCids ({Suppressed} more such refusals since the last such message).", EventName = "PeerRejected")]
    public static partial void PeerRejected(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint, uint peerCid, long suppressed);

    [LoggerMessage(3, LogLevel.Debug, "Accepted a connection from {RemoteEndPoint} on {LocalEndPoint}.", EventName = "Accepted")]
    public static partial void Accepted(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint);

    [LoggerMessage(4, LogLevel.Debug, "A connection was reset by its peer before it could be accepted.", EventName = "AcceptReset")]
    public static partial void AcceptReset(ILogger logger);

    [LoggerMessage(5, LogLevel.Information, "Stopped listening on {EndPoint}.", EventName = "Unbound")]
    public static partial void Unbound(ILogger logger, VmciEndPoint endPoint);

    [LoggerMessage(7, LogLevel.Warning, "Closed a connection from {RemoteEndPoint} to {LocalEndPoint} before reading it: its port is not below 1024 and RequirePrivilegedPeerPort is set ({Suppressed} more such refusals since the last such message).", EventName = "PeerPortNotPrivileged")]
    public static partial void PeerPortNotPrivileged(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint, long suppressed);

    [LoggerMessage(8, LogLevel.Warning, "Closed a connection from {RemoteEndPoint} to {LocalEndPoint} before reading it: CID {PeerCid} already has {Limit} connections (MaxConnectionsPerPeerCid) ({Suppressed} more such refusals since the last such message).", EventName = "PeerConnectionLimit")]
    public static partial void PeerConnectionLimit(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint, uint peerCid, int limit, long suppressed);

    [LoggerMessage(9, LogLevel.Error, "Accepting on {EndPoint} failed; retrying ({Suppressed} more failures since the last such message).", EventName = "AcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, System.Net.EndPoint endPoint, long suppressed, System.Exception exception);

    [LoggerMessage(15, LogLevel.Error, "Setting up a connection accepted on {EndPoint} failed; closed it and kept accepting.", EventName = "AcceptedConnectionFailed")]
    public static partial void AcceptedConnectionFailed(ILogger logger, System.Net.EndPoint endPoint, System.Exception exception);

    [LoggerMessage(16, LogLevel.Warning, "Closed a connection from {RemoteEndPoint} to {LocalEndPoint} before reading it: CID {PeerCid} already has {Limit} connections, each of which may hold {BytesPerConnection} bytes (vsock window plus read buffer), and MaxBufferedBytesPerPeerCid is {Budget} ({Suppressed} more such refusals since the last such message).", EventName = "PeerBufferBudget")]
    public static partial void PeerBufferBudget(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint, uint peerCid, int limit, long bytesPerConnection, long budget, long suppressed);

    [LoggerMessage(6, LogLevel.Debug, "Connected to {RemoteEndPoint} from {LocalEndPoint}.", EventName = "Connected")]
    public static partial void Connected(ILogger logger, VmciEndPoint remoteEndPoint, VmciEndPoint localEndPoint);

    [LoggerMessage(10, LogLevel.Debug, "Connected to {EndPoint} (hybrid vsock).", EventName = "HybridConnected")]
    public static partial void HybridConnected(ILogger logger, HybridVsockEndPoint endPoint);

    [LoggerMessage(11, LogLevel.Information, "Listening on {EndPoint} at {ListenPath} (hybrid vsock: guests connect to CID 2, port {Port}).", EventName = "HybridListening")]
    public static partial void HybridListening(ILogger logger, HybridVsockEndPoint endPoint, string listenPath, uint port);

    [LoggerMessage(12, LogLevel.Debug, "Accepted a connection on {EndPoint} (hybrid vsock).", EventName = "HybridAccepted")]
    public static partial void HybridAccepted(ILogger logger, HybridVsockEndPoint endPoint);

    [LoggerMessage(13, LogLevel.Information, "Stopped listening on {EndPoint}; its socket file {ListenPath} is removed unless another server has replaced it.", EventName = "HybridUnbound")]
    public static partial void HybridUnbound(ILogger logger, HybridVsockEndPoint endPoint, string listenPath);

    // Refusals on a hybrid vsock endpoint: the peer is the VM that owns the socket (UdsPath), over all its ports.
    [LoggerMessage(22, LogLevel.Warning, "Closed a connection on {EndPoint} before reading it: the VM at {UdsPath} already has {Limit} connections (MaxConnectionsPerPeerCid) ({Suppressed} more such refusals since the last such message).", EventName = "HybridPeerConnectionLimit")]
    public static partial void HybridPeerConnectionLimit(ILogger logger, HybridVsockEndPoint endPoint, string udsPath, int limit, long suppressed);

    [LoggerMessage(23, LogLevel.Warning, "Closed a connection on {EndPoint} before reading it: the VM at {UdsPath} already has {Limit} connections, each of which may hold {BytesPerConnection} bytes (vsock window plus read buffer), and MaxBufferedBytesPerPeerCid is {Budget} ({Suppressed} more such refusals since the last such message).", EventName = "HybridPeerBufferBudget")]
    public static partial void HybridPeerBufferBudget(ILogger logger, HybridVsockEndPoint endPoint, string udsPath, int limit, long bytesPerConnection, long budget, long suppressed);

    // 14 was HybridAcceptFailed: hybrid listeners now log accept failures as event 9, like every listener.
}

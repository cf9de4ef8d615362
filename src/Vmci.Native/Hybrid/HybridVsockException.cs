using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// Connecting or listening through a hypervisor's hybrid vsock Unix socket failed.
/// <see cref="SocketException.SocketErrorCode"/> says what kind of failure it is (for example
/// <see cref="SocketError.ConnectionRefused"/> when the guest never accepted, <see cref="SocketError.TimedOut"/>
/// when the hypervisor did not answer); the message names the socket path, the port, the likely causes and the fix.
/// </summary>
public sealed class HybridVsockException : SocketException
{
    internal HybridVsockException(SocketError socketError, HybridVsockEndPoint endPoint, string message)
        : base((int)socketError, message)
    {
        EndPoint = endPoint;
    }

    /// <summary>The endpoint that was being connected or bound.</summary>
    public HybridVsockEndPoint EndPoint { get; }
}

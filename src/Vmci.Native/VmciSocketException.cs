using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// A vsock operation failed. <see cref="SocketException.SocketErrorCode"/> says what kind of
/// failure it is; the message names the cause and the fix; <see cref="EndPoint"/> names the address.
/// </summary>
public sealed class VmciSocketException : SocketException
{
    internal VmciSocketException(SocketError socketError, int errno, VmciEndPoint? endPoint, string message)
        : base((int)socketError, message)
    {
        EndPoint = endPoint;
        PlatformErrorCode = errno;
    }

    /// <summary>The endpoint that was being bound, connected or queried, when there was one.</summary>
    public VmciEndPoint? EndPoint { get; }

    /// <summary>The Linux errno the kernel reported (for example 19 for ENODEV), or 0 when none.</summary>
    public int PlatformErrorCode { get; }
}

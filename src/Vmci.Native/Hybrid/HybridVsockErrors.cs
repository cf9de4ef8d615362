using System;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Vmci.Native;

/// <summary>The one place where hybrid vsock failures become exceptions; each names the path, the port, the cause and the fix.</summary>
internal static class HybridVsockErrors
{
    internal static UnixDomainSocketEndPoint UnixAddress(HybridVsockEndPoint endPoint, string path)
    {
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > HybridVsockEndPoint.MaxUnixPathBytes)
        {
            throw new HybridVsockException(SocketError.InvalidArgument, endPoint,
                $"The Unix socket path {path} is {bytes} bytes long; Linux takes at most {HybridVsockEndPoint.MaxUnixPathBytes}. Give the VM's vsock socket (uds_path) a shorter path.");
        }

        return new UnixDomainSocketEndPoint(path);
    }

    /// <summary>A failed connect to the VM's socket; <paramref name="socketFileExists"/> is what the caller found at its path.</summary>
    internal static HybridVsockException FromConnect(SocketException ex, HybridVsockEndPoint endPoint, bool socketFileExists)
    {
        string path = endPoint.UdsPath;
        string what = $"Connecting to vsock port {endPoint.Port} through {path} failed";
        return ex.SocketErrorCode switch
        {
            _ when !socketFileExists => new(SocketError.AddressNotAvailable, endPoint,
                $"{what}: the socket file {path} does not exist. Is the VM running, and is this its vsock device's uds_path (Firecracker: vsock uds_path; Cloud Hypervisor: --vsock socket=)?"),
            SocketError.AccessDenied => new(SocketError.AccessDenied, endPoint,
                $"{what}: permission denied on {path}. Connecting needs write permission on the socket file and search permission on its directories: run as the VM's user or give yours access."),
            SocketError.ConnectionRefused => new(SocketError.ConnectionRefused, endPoint,
                $"{what}: nothing listens on {path}. The file is left from a hypervisor that has exited, or it is not the VM's vsock socket: start the VM, or check the path."),
            _ => new(ex.SocketErrorCode, endPoint, $"{what}: {ex.Message}."),
        };
    }

    internal static HybridVsockException NeverAccepted(HybridVsockEndPoint endPoint, TimeSpan timeout, int attempts) => new(SocketError.ConnectionRefused, endPoint,
        string.Create(CultureInfo.InvariantCulture,
            $"Connecting to vsock port {endPoint.Port} through {endPoint.UdsPath} failed: the hypervisor closed the connection without answering CONNECT {endPoint.Port}, {attempts} times in {timeout.TotalSeconds:0.###} s. Either nothing listens on vsock port {endPoint.Port} in the guest (start the guest's server, or check the port), or the guest's vsock driver is not up yet (just after boot: wait, or raise the connect timeout)."));

    internal static HybridVsockException NoAnswer(HybridVsockEndPoint endPoint, TimeSpan timeout) => new(SocketError.TimedOut, endPoint,
        string.Create(CultureInfo.InvariantCulture,
            $"Connecting to vsock port {endPoint.Port} through {endPoint.UdsPath} failed: the hypervisor took the connection but did not answer CONNECT {endPoint.Port} within {timeout.TotalSeconds:0.###} s. The guest may be overloaded or paused; if it is only slow, raise the connect timeout."));

    internal static HybridVsockException BadReply(HybridVsockEndPoint endPoint, ReadOnlySpan<byte> reply, string why) => new(SocketError.ProtocolNotSupported, endPoint,
        $"Connecting to vsock port {endPoint.Port} through {endPoint.UdsPath} failed: the answer to CONNECT {endPoint.Port} was \"{Escape(reply)}\", and {why} (expected \"OK <hostport>\\n\"). Is {endPoint.UdsPath} a Firecracker or Cloud Hypervisor vsock socket?");

    internal static HybridVsockException FromBind(SocketException ex, HybridVsockEndPoint endPoint)
    {
        string path = endPoint.ListenPath;
        string what = $"Listening for guests' connections to host port {endPoint.Port} at {path} failed";
        return ex.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => InUse(endPoint, path),
            SocketError.AccessDenied => new(SocketError.AccessDenied, endPoint,
                $"{what}: permission denied. Creating the socket needs write permission on its directory: run as the VM's user or give yours access."),
            SocketError.AddressNotAvailable => NoDirectory(endPoint),
            _ => new(ex.SocketErrorCode, endPoint, $"{what}: {ex.Message}."),
        };
    }

    internal static HybridVsockException NoDirectory(HybridVsockEndPoint endPoint) => new(SocketError.AddressNotAvailable, endPoint,
        $"Listening for guests' connections to host port {endPoint.Port} at {endPoint.ListenPath} failed: its directory does not exist. The socket goes next to the VM's uds_path {endPoint.UdsPath}; check that path.");

    /// <summary>A file operation on the listening socket's path failed; <paramref name="what"/> says which and why, <paramref name="errno"/> (0: none) what the kernel said.</summary>
    internal static HybridVsockException FileFailed(HybridVsockEndPoint endPoint, string path, string what, int errno = 0) => new(
        errno is Interop.Errno.EACCES or Interop.Errno.EPERM ? SocketError.AccessDenied : SocketError.SocketError, endPoint,
        $"Listening for guests' connections to host port {endPoint.Port} at {path} failed: {what}. Check the permissions of its directory, and that no other program manages files there.");

    internal static HybridVsockException InUse(HybridVsockEndPoint endPoint, string path) => new(SocketError.AddressAlreadyInUse, endPoint,
        $"Listening for guests' connections to host port {endPoint.Port} at {path} failed: another process is listening there. Stop it, or use another port.");

    internal static HybridVsockException NotASocket(HybridVsockEndPoint endPoint, string path) => new(SocketError.AddressAlreadyInUse, endPoint,
        $"Listening for guests' connections to host port {endPoint.Port} at {path} failed: that path exists and is not a socket, so it is not replaced. Remove it, or use another port.");

    private static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            text.Append(b switch
            {
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'"' or (byte)'\\' => $"\\{(char)b}",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\x{b:x2}"),
            });
        }

        return text.ToString();
    }
}

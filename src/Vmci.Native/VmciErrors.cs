using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Interop.Errno;

namespace Vmci.Native;

/// <summary>
/// The one place where errno becomes an exception. Each message names what failed, why it
/// usually fails that way on vsock, and what to do about it.
/// </summary>
internal static class VmciErrors
{
    /// <summary>Linux errno values are below 4096 (MAX_ERRNO).</summary>
    private const int MaxErrno = 4095;

    private const string LoadTransport =
        "Load the transport for your hypervisor: vmw_vsock_virtio_transport (KVM, Firecracker, Cloud Hypervisor guests), " +
        "vmw_vsock_vmci_transport (VMware), hv_sock (Hyper-V), vhost_vsock (a KVM host) or vsock_loopback (tests on one machine).";

    /// <summary>The errno of the last P/Invoke, as an exception for <paramref name="operation"/>.</summary>
    internal static VmciSocketException FromLastError(VmciOperation operation, VmciEndPoint? endPoint = null, string? option = null)
        => FromErrno(Marshal.GetLastPInvokeError(), operation, endPoint, option);

    /// <summary>A <see cref="SocketException"/> from .NET's socket layer, explained for <paramref name="operation"/>.</summary>
    /// <param name="exception">What .NET threw.</param>
    /// <param name="operation">What was being done.</param>
    /// <param name="endPoint">The address it was done with.</param>
    /// <param name="option">The option, for option calls.</param>
    /// <param name="threadErrno">
    /// errno as the calling thread read it first thing after a synchronous call failed, or 0. .NET rebuilds
    /// <c>SocketException.NativeErrorCode</c> from its <see cref="SocketError"/>, so errno values that
    /// share one (EPERM and EACCES are both AccessDenied) come back as the same code; the thread's errno
    /// still tells them apart. It is used only when it agrees with what .NET reported.
    /// </param>
    internal static VmciSocketException FromSocketException(SocketException exception, VmciOperation operation, VmciEndPoint? endPoint = null, string? option = null, int threadErrno = 0)
    {
        if (exception is VmciSocketException explained)
        {
            return explained;
        }

        if (threadErrno is > 0 and <= MaxErrno && Agrees(threadErrno, exception.SocketErrorCode))
        {
            return FromErrno(threadErrno, operation, endPoint, option, exception.SocketErrorCode, exception.Message);
        }

        // On Linux, .NET keeps the raw errno in NativeErrorCode, but only for errno values it has a
        // SocketError for; for the rest it reports SocketError.SocketError and a code that is no errno.
        int errno = exception.NativeErrorCode;
        if (errno is <= 0 or > MaxErrno)
        {
            // Of the errors connect(2) gives on AF_VSOCK, ENODEV ("no transport for that CID") is the
            // only one .NET does not know, so an unknown connect error is that one.
            errno = operation == VmciOperation.Connect && exception.SocketErrorCode == SocketError.SocketError ? ENODEV : 0;
        }

        return FromErrno(errno, operation, endPoint, option, exception.SocketErrorCode, exception.Message);
    }

    /// <summary>Whether .NET could have reported <paramref name="errno"/> as <paramref name="reported"/>.</summary>
    private static bool Agrees(int errno, SocketError reported) => (errno, reported) switch
    {
        (EPERM or EACCES, SocketError.AccessDenied) => true,
        (EADDRINUSE, SocketError.AddressAlreadyInUse) => true,
        (EADDRNOTAVAIL, SocketError.AddressNotAvailable) => true,
        (EINVAL, SocketError.InvalidArgument) => true,
        (EAFNOSUPPORT, SocketError.AddressFamilyNotSupported) => true,
        (EOPNOTSUPP, SocketError.OperationNotSupported) => true,
        (ENOBUFS or ENOMEM, SocketError.NoBufferSpaceAvailable) => true,
        // errno values .NET has no SocketError for (ENODEV among them) come out as SocketError.SocketError.
        (_, SocketError.SocketError) => NameOf(errno) is not null,
        _ => false,
    };

    internal static VmciSocketException FromErrno(int errno, VmciOperation operation, VmciEndPoint? endPoint = null, string? option = null, SocketError? reported = null, string? reportedMessage = null)
    {
        (SocketError error, string? why) = Explain(errno, operation, endPoint, option);
        error = error != SocketError.SocketError ? error : reported ?? SocketError.SocketError;
        string what = Describe(operation, endPoint, option);
        string message = (why, errno) switch
        {
            (null, 0) => $"{what} failed: {reportedMessage ?? error.ToString()}.",
            (null, _) => $"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} ({ErrnoText(errno)}).",
            _ => $"{what} failed: {why} ({ErrnoText(errno)})",
        };
        return new VmciSocketException(error, errno, endPoint, message);
    }

    private static string ErrnoText(int errno) => NameOf(errno) is { } name ? $"{name}, errno {errno}" : $"errno {errno}";

    private static (SocketError Error, string? Why) Explain(int errno, VmciOperation operation, VmciEndPoint? endPoint, string? option)
    {
        uint cid = endPoint?.Cid ?? VmciCid.Any;
        uint port = endPoint?.Port ?? VmciPort.Any;
        return (operation, errno) switch
        {
            (VmciOperation.CreateStream or VmciOperation.CreateSeqPacket or VmciOperation.CreateDatagram, EAFNOSUPPORT) =>
                (SocketError.AddressFamilyNotSupported, $"AF_VSOCK is not available: this kernel has no vsock support loaded. {LoadTransport}"),
            (VmciOperation.CreateDatagram, ENODEV or ESOCKTNOSUPPORT or EPROTONOSUPPORT) =>
                (SocketError.SocketNotSupported, "vsock datagram sockets are implemented only by VMware's VMCI transport, which this kernel does not have. Use a stream socket, or a seqpacket socket to keep message boundaries."),
            (VmciOperation.CreateSeqPacket, ENODEV or ESOCKTNOSUPPORT or EPROTONOSUPPORT) =>
                (SocketError.SocketNotSupported, "no loaded vsock transport supports seqpacket sockets (virtio and vsock_loopback do since Linux 5.14; VMCI and Hyper-V do not). Use a stream socket."),
            (VmciOperation.Bind, EACCES or EPERM) when port < VmciPort.FirstUnprivileged =>
                (SocketError.AccessDenied, $"port {port} is below 1024, and binding it needs CAP_NET_BIND_SERVICE. Run with that capability (setcap cap_net_bind_service=+ep on the executable, or AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit) or use a port from 1024 up."),
            // Seen on a Firecracker guest that refuses one vsock port with EPERM: above 1023 the kernel's own rule
            // does not apply, so the refusal comes from a policy layered on top of it.
            (VmciOperation.Bind, EACCES or EPERM) =>
                (SocketError.AccessDenied, $"binding port {port} was refused by a policy on this machine, not by the privileged-port rule (ports from 1024 up need no capability): a security module (SELinux, AppArmor), a seccomp filter or the hypervisor's vsock setup reserves it. Use another port, or check the audit log for the denial."),
            (VmciOperation.Bind, EADDRINUSE) =>
                (SocketError.AddressAlreadyInUse, $"another socket is already bound to port {port}. Stop the other listener, pick another port, or bind port 'any' (VMADDR_PORT_ANY) to get a free one."),
            (VmciOperation.Bind, EADDRNOTAVAIL) =>
                (SocketError.AddressNotAvailable, $"CID {cid} is not a CID of this machine. Bind to 'any' (VMADDR_CID_ANY) or to the local CID that VmciPlatform.GetLocalCid() returns."),
            (VmciOperation.Bind, EINVAL) =>
                (SocketError.InvalidArgument, "the socket is already bound (a socket can be bound once)."),
            (VmciOperation.Connect, ECONNRESET or ECONNREFUSED) =>
                (SocketError.ConnectionRefused, $"the connection was refused: nothing listens on port {port} at CID {cid} (vsock answers a connect to a closed port with a reset). Start the server, or check the port."),
            (VmciOperation.Connect, ETIMEDOUT) =>
                (SocketError.TimedOut, $"CID {cid} did not answer within the connect timeout. Check that the VM with CID {cid} is running and has a vsock device; if it is only slow, raise the timeout (SetVmciConnectTimeout)."),
            (VmciOperation.Connect, ENODEV or ENETUNREACH or EHOSTUNREACH) =>
                (SocketError.HostUnreachable, Unreachable(cid)),
            (VmciOperation.GetOption or VmciOperation.SetOption, ENOPROTOOPT) =>
                (SocketError.ProtocolOption, $"this kernel's vsock does not implement {option}; only VMware's VMCI transport has it."),
            (VmciOperation.SetOption, EINVAL) =>
                (SocketError.InvalidArgument, $"the kernel did not accept that value for {option}."),
            (VmciOperation.GetLocalCid, ENOENT) =>
                (SocketError.AddressFamilyNotSupported, $"there is no /dev/vsock, so this machine has no vsock CID. {LoadTransport}"),
            (VmciOperation.GetLocalCid, ENODEV or ENXIO) =>
                (SocketError.AddressFamilyNotSupported, $"/dev/vsock exists but no vsock driver answers it, so this machine has no vsock CID. {LoadTransport}"),
            (VmciOperation.GetLocalCid, EACCES or EPERM) =>
                (SocketError.AccessDenied, "opening /dev/vsock was denied. Give this user read access to /dev/vsock."),
            _ => (SocketError.SocketError, null),
        };
    }

    private static string Unreachable(uint cid) => cid switch
    {
        VmciCid.Local => "no vsock transport reaches CID 1 (this machine): is the vsock_loopback module loaded? (modprobe vsock_loopback)",
        VmciCid.Hypervisor or VmciCid.Host => $"no vsock transport reaches CID {cid} (the host): this machine has no guest transport loaded (vmw_vsock_virtio_transport, vmw_vsock_vmci_transport or hv_sock), or is not a VM.",
        _ => $"no vsock transport reaches CID {cid}: from a guest, other VMs are reached only through the host (VmciEndPointFlags.ToHost, if the host forwards); on a host, the VM with that CID needs a vsock device (vhost_vsock) and must be running.",
    };

    private static string Describe(VmciOperation operation, VmciEndPoint? endPoint, string? option) => operation switch
    {
        VmciOperation.CreateStream => "Creating a vsock stream socket",
        VmciOperation.CreateSeqPacket => "Creating a vsock seqpacket socket",
        VmciOperation.CreateDatagram => "Creating a vsock datagram socket",
        VmciOperation.Bind => $"Binding {endPoint}",
        VmciOperation.Listen => $"Listening on {endPoint}",
        VmciOperation.Connect => $"Connecting to {endPoint}",
        VmciOperation.GetOption => $"Reading the vsock option {option}",
        VmciOperation.SetOption => $"Setting the vsock option {option}",
        VmciOperation.GetLocalEndPoint => "Reading the socket's local address (getsockname)",
        VmciOperation.GetLocalCid => "Reading the local CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock)",
        VmciOperation.AdoptListener => $"Taking over the inherited listening socket {option}",
        _ => operation.ToString(),
    };
}

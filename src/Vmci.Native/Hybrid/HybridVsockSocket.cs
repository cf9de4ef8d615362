using System;
using System.Buffers.Text;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Native;

/// <summary>
/// Hybrid vsock, the host side of Firecracker and Cloud Hypervisor: connects to a guest's vsock port through
/// the VM's Unix socket (<c>CONNECT PORT</c>, answered by <c>OK HOSTPORT</c>), and listens where the
/// hypervisor delivers guests' connections to a host port (<c>uds_path_PORT</c>). The results are ordinary
/// connected or listening Unix stream sockets.
/// </summary>
public static class HybridVsockSocket
{
    /// <summary>The longest reply line read: Firecracker reads at most 32 bytes of the command, and its <c>OK 4294967295</c> is 14.</summary>
    internal const int MaxReplyBytes = 32;

    /// <summary>The connect timeout when none is given, the kernel's AF_VSOCK default.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(2);

    // The muxer closes at once when the guest does not accept; retry soon, then back off (firecracker-go-sdk retries every 100 ms).
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Connects to the guest's vsock port <see cref="HybridVsockEndPoint.Port"/> through the VM's Unix socket.
    /// When the hypervisor closes without an answer (nothing listens in the guest yet, or its vsock driver is
    /// not up yet) it tries again, with growing pauses, until <paramref name="connectTimeout"/> has passed.
    /// </summary>
    /// <param name="endPoint">The VM's socket and the guest's port.</param>
    /// <param name="connectTimeout">How long to keep trying, handshake included; null means <see cref="DefaultConnectTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels at any step.</param>
    /// <returns>A connected Unix stream socket; every byte after the <c>OK</c> line is the guest's.</returns>
    /// <exception cref="HybridVsockException">
    /// The socket file is missing (<see cref="SocketError.AddressNotAvailable"/>), not accessible
    /// (<see cref="SocketError.AccessDenied"/>) or stale (<see cref="SocketError.ConnectionRefused"/>); the guest
    /// never accepted within the timeout (<see cref="SocketError.ConnectionRefused"/>); the hypervisor accepted
    /// but did not answer (<see cref="SocketError.TimedOut"/>); or the answer is not <c>OK PORT</c>
    /// (<see cref="SocketError.ProtocolNotSupported"/>).
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<Socket> ConnectAsync(HybridVsockEndPoint endPoint, TimeSpan? connectTimeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        TimeSpan timeout = connectTimeout ?? DefaultConnectTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(connectTimeout));
        var address = HybridVsockErrors.UnixAddress(endPoint, endPoint.UdsPath);
        // One line in one write: Cloud Hypervisor accepts "CONNECT " or "connect " only, Firecracker and
        // vhost-device-vsock read at least 10 bytes up to the newline; a client that closes before the
        // newline once crashed Cloud Hypervisor (cloud-hypervisor#6798), so the line never goes out in pieces.
        byte[] command = Encoding.ASCII.GetBytes($"CONNECT {endPoint.Port}\n");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        TimeSpan delay = FirstRetryDelay;
        int attempts = 0;
        while (true)
        {
            attempts++;
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            bool awaitingReply = false;
            try
            {
                await socket.ConnectAsync(address, deadline.Token).ConfigureAwait(false);
                await socket.SendAsync(command, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                awaitingReply = true;
                if (await ReadReplyAsync(socket, endPoint, deadline.Token).ConfigureAwait(false))
                {
                    return socket;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                // Still waiting on the first try: the hypervisor is silent. After closes: the guest never accepted.
                throw awaitingReply && attempts == 1 ? HybridVsockErrors.NoAnswer(endPoint, timeout) : HybridVsockErrors.NeverAccepted(endPoint, timeout, attempts);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
            {
                // Closed mid-handshake: the same answer as a close before it, try again.
            }
            catch (SocketException ex) when (ex is not HybridVsockException)
            {
                socket.Dispose();
                throw HybridVsockErrors.FromConnect(ex, endPoint, socketFileExists: FileType(endPoint.UdsPath) is not null);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            socket.Dispose();
            try
            {
                await Task.Delay(delay, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw HybridVsockErrors.NeverAccepted(endPoint, timeout, attempts);
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    /// <summary>
    /// Reads the hypervisor's answer line and nothing after it: it peeks, then takes exactly the bytes up to
    /// the newline, so data the guest sends right after the handshake stays in the socket for the caller.
    /// </summary>
    /// <returns>True on <c>OK PORT</c>; false when the hypervisor closed without a word.</returns>
    private static async ValueTask<bool> ReadReplyAsync(Socket socket, HybridVsockEndPoint endPoint, CancellationToken cancellationToken)
    {
        byte[] line = new byte[MaxReplyBytes];
        int length = 0;
        while (true)
        {
            int peeked = await socket.ReceiveAsync(line.AsMemory(length), SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            if (peeked == 0)
            {
                return length == 0 ? false : throw HybridVsockErrors.BadReply(endPoint, line.AsSpan(0, length), "it ends before its newline");
            }

            int newline = line.AsSpan(length, peeked).IndexOf((byte)'\n');
            int take = newline >= 0 ? newline + 1 : peeked;
            for (int taken = 0; taken < take;)
            {
                taken += await socket.ReceiveAsync(line.AsMemory(length + taken, take - taken), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            length += take;
            if (newline >= 0)
            {
                ReadOnlySpan<byte> reply = line.AsSpan(0, length - 1);
                // Every muxer known writes "OK <port>"; the case is not part of the contract (Kata's clients only look for "OK").
                return reply.Length > 3 && Ascii.EqualsIgnoreCase(reply[..3], "OK "u8) && IsDigits(reply[3..]) && Utf8Parser.TryParse(reply[3..], out uint _, out int consumed) && consumed == reply.Length - 3
                    ? true
                    : throw HybridVsockErrors.BadReply(endPoint, line.AsSpan(0, length), "it is not OK followed by a port number");
            }

            if (length == MaxReplyBytes)
            {
                throw HybridVsockErrors.BadReply(endPoint, line, $"it is longer than {MaxReplyBytes} bytes without a newline");
            }
        }
    }

    private static bool IsDigits(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The mode of a listening socket file when none is given: read and write for its owner only (0600).</summary>
    /// <remarks>Connecting to a Unix socket needs write permission on it: whoever may connect is served as the guest.</remarks>
    public const UnixFileMode DefaultSocketFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode PermissionBits = (UnixFileMode)0x1FF; // 0777

    /// <summary>
    /// Listens where the hypervisor delivers guests' connections to host port <see cref="HybridVsockEndPoint.Port"/>:
    /// the Unix socket <see cref="HybridVsockEndPoint.ListenPath"/>, created with <paramref name="socketFileMode"/>
    /// whatever the umask. A socket file left there by a process that has gone is replaced; a live one, or a file that
    /// is not a socket, is not touched. Disposing the socket removes its file, unless another listener has replaced it since.
    /// </summary>
    /// <param name="endPoint">The VM's socket and the host port.</param>
    /// <param name="backlog">The listen backlog.</param>
    /// <param name="socketFileMode">
    /// Who may connect, and so be served as the guest: the hypervisor's user needs write permission. Permission bits only
    /// (at most 0777); <see cref="DefaultSocketFileMode"/> (0600) when the hypervisor runs as the same user.
    /// </param>
    /// <exception cref="HybridVsockException">
    /// Another process listens there, the path is not a socket, is too long, or cannot be created, locked or replaced.
    /// </exception>
    public static Socket Listen(HybridVsockEndPoint endPoint, int backlog = VmciSocket.DefaultBacklog, UnixFileMode socketFileMode = DefaultSocketFileMode)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        if ((socketFileMode & ~PermissionBits) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(socketFileMode), socketFileMode,
                "A socket file's mode is permission bits only (at most 0777: read, write and execute for owner, group and others).");
        }

        return HybridVsockSocketFile.Listen(endPoint, backlog, socketFileMode);
    }

    /// <summary>The file type bits (S_IFMT) of <paramref name="path"/>, not following a final symlink; null when there is nothing there.</summary>
    internal static unsafe int? FileType(string path)
    {
        byte* buffer = stackalloc byte[Interop.Constants.StatxSize];
        if (Interop.Libc.Statx(Interop.Constants.AT_FDCWD, path, Interop.Constants.AT_SYMLINK_NOFOLLOW, Interop.Constants.STATX_TYPE, buffer) != 0)
        {
            return null;
        }

        ushort mode = *(ushort*)(buffer + Interop.Constants.StatxModeOffset);
        return mode & Interop.Constants.S_IFMT;
    }
}

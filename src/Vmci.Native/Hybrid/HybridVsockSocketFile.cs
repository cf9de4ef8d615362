using System;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.Win32.SafeHandles;

namespace Vmci.Native;

/// <summary>
/// The listening socket file <c>uds_path_PORT</c> of a hybrid vsock listener, made and removed so that servers
/// starting and stopping over the same path never take each other's socket:
/// <list type="bullet">
/// <item>every step runs under an exclusive <c>flock</c> on the socket's directory, so two servers (of this
/// library) never probe, replace or remove at once;</item>
/// <item>the socket is bound under a private temporary name, given its mode and put into listening state, and
/// only then renamed onto the path: the path never names a socket that is bound but not listening (which a
/// probe would take for stale), nor one with the umask's mode, and a stale file is replaced in one step;</item>
/// <item>the file is removed only while it is still the inode this listener bound, so a successor's socket stays.</item>
/// </list>
/// </summary>
internal static class HybridVsockSocketFile
{
    /// <summary>How long to wait for another server that holds the directory lock; it holds it for a few system calls.</summary>
    internal static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(5);

    private const int TemporaryNameBytes = 12;
    private const int ShortestTemporaryNameBytes = 6;

    /// <summary>Where a file is: device and inode, which no other live file shares.</summary>
    internal readonly record struct FileId(uint DevMajor, uint DevMinor, ulong Inode);

    /// <summary>Binds, sets the mode, listens and moves the socket onto <see cref="HybridVsockEndPoint.ListenPath"/>.</summary>
    internal static HybridVsockListenSocket Listen(HybridVsockEndPoint endPoint, int backlog, UnixFileMode mode)
    {
        string path = endPoint.ListenPath;
        HybridVsockErrors.UnixAddress(endPoint, path);
        string directory = Path.GetDirectoryName(path)!;
        using SafeFileHandle directoryLock = Lock(endPoint, directory, LockTimeout);
        EnsureReplaceable(endPoint, path);

        string temporary = TemporaryPath(endPoint, directory);
        var socket = new HybridVsockListenSocket(endPoint);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(temporary));
            // Before listen: until then a connect is refused whatever the mode, so nobody gets in under the umask's mode.
            if (Interop.Libc.Chmod(temporary, (uint)mode) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw HybridVsockErrors.FileFailed(endPoint, path, $"setting the mode of {temporary} failed ({ErrnoText(errno)})", errno);
            }

            socket.Listen(backlog);
            FileId id = Identify(temporary) ?? throw HybridVsockErrors.FileFailed(endPoint, path, $"the socket just bound at {temporary} has vanished");
            if (Interop.Libc.Rename(temporary, path) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw HybridVsockErrors.FileFailed(endPoint, path, $"moving the new socket from {temporary} onto it failed ({ErrnoText(errno)})", errno);
            }

            socket.Own(id);
            return socket;
        }
        catch (SocketException ex) when (ex is not HybridVsockException)
        {
            socket.Dispose();
            throw HybridVsockErrors.FromBind(ex, endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Removes <paramref name="path"/> if it still is <paramref name="id"/>; false when it is not (or cannot be checked), and it stays.</summary>
    internal static bool Remove(HybridVsockEndPoint endPoint, string path, FileId id)
    {
        try
        {
            using SafeFileHandle directoryLock = Lock(endPoint, Path.GetDirectoryName(path)!, LockTimeout);
            if (Identify(path) != id)
            {
                return false; // removed already, or another server's socket now
            }

            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HybridVsockException)
        {
            // Left in place it is a stale socket file, which the next listener at this path replaces.
            return false;
        }
    }

    /// <summary>Device and inode of <paramref name="path"/> itself (a final symlink is not followed); null when nothing is there.</summary>
    internal static unsafe FileId? Identify(string path)
    {
        byte* buffer = stackalloc byte[Interop.Constants.StatxSize];
        if (Interop.Libc.Statx(Interop.Constants.AT_FDCWD, path, Interop.Constants.AT_SYMLINK_NOFOLLOW, Interop.Constants.STATX_INO, buffer) != 0)
        {
            return null;
        }

        return new FileId(
            *(uint*)(buffer + Interop.Constants.StatxDevMajorOffset),
            *(uint*)(buffer + Interop.Constants.StatxDevMinorOffset),
            *(ulong*)(buffer + Interop.Constants.StatxInodeOffset));
    }

    /// <summary>
    /// Nothing there, or a socket nobody listens on (what a killed server leaves): fine. A file that is not a
    /// socket, or a live socket, is not ours to replace. The probe never blocks: a full backlog means live.
    /// </summary>
    private static void EnsureReplaceable(HybridVsockEndPoint endPoint, string path)
    {
        int? type = HybridVsockSocket.FileType(path);
        if (type is null)
        {
            return;
        }

        if (type != Interop.Constants.S_IFSOCK)
        {
            throw HybridVsockErrors.NotASocket(endPoint, path);
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { Blocking = false };
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
        {
            return; // stale, or gone meanwhile
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Its backlog is full: alive, and busy.
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw HybridVsockErrors.FileFailed(endPoint, path, "a socket file is there that this user may not connect to, so whether a server still listens on it cannot be told; it is not replaced", Interop.Errno.EACCES);
        }

        throw HybridVsockErrors.InUse(endPoint, path);
    }

    /// <summary>
    /// Takes an exclusive flock on <paramref name="directory"/>, waiting up to <paramref name="timeout"/>. The lock
    /// goes with the returned handle (and with the process, should it die holding it).
    /// </summary>
    private static SafeFileHandle Lock(HybridVsockEndPoint endPoint, string directory, TimeSpan timeout)
    {
        int fd = Interop.Libc.Open(directory, Interop.Constants.O_RDONLY | Interop.Constants.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Interop.Errno.ENOENT => HybridVsockErrors.NoDirectory(endPoint),
                Interop.Errno.EACCES => new HybridVsockException(SocketError.AccessDenied, endPoint,
                    $"Listening for guests' connections to host port {endPoint.Port} at {endPoint.ListenPath} failed: its directory {directory} cannot be read by this user, and a listener locks it while it replaces or removes its socket. Run as the VM's user or give yours access."),
                _ => HybridVsockErrors.FileFailed(endPoint, endPoint.ListenPath, $"opening its directory {directory} failed ({ErrnoText(errno)})", errno),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        long started = Stopwatch.GetTimestamp();
        while (Interop.Libc.Flock(handle, Interop.Constants.LOCK_EX | Interop.Constants.LOCK_NB) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EAGAIN || Stopwatch.GetElapsedTime(started) >= timeout)
            {
                handle.Dispose();
                throw errno == Interop.Errno.EAGAIN
                    ? new HybridVsockException(SocketError.TimedOut, endPoint,
                        $"Listening for guests' connections to host port {endPoint.Port} at {endPoint.ListenPath} failed: another process held the lock on {directory} for {timeout.TotalSeconds:0} s (a server starting or stopping there holds it for a few system calls). Find the process with 'fuser {directory}'.")
                    : HybridVsockErrors.FileFailed(endPoint, endPoint.ListenPath, $"locking its directory {directory} failed ({ErrnoText(errno)})", errno);
            }

            // The holder is a few system calls from done: a short nap, not a spin.
            Thread.Sleep(5);
        }

        return handle;
    }

    private static string ErrnoText(int errno) => Interop.Errno.NameOf(errno) ?? $"errno {errno.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>A random name beside the path, as long as the Unix address limit allows (at most 12 bytes).</summary>
    private static string TemporaryPath(HybridVsockEndPoint endPoint, string directory)
    {
        int room = HybridVsockEndPoint.MaxUnixPathBytes - System.Text.Encoding.UTF8.GetByteCount(directory) - 2; // "/" and "."
        int length = Math.Min(TemporaryNameBytes, room);
        if (length < ShortestTemporaryNameBytes)
        {
            throw new HybridVsockException(SocketError.InvalidArgument, endPoint,
                $"Listening for guests' connections to host port {endPoint.Port} at {endPoint.ListenPath} failed: its directory {directory} is too long a path to bind a temporary socket beside it (Unix socket paths take at most {HybridVsockEndPoint.MaxUnixPathBytes} bytes). Give the VM's vsock socket (uds_path) a shorter directory.");
        }

        return Path.Combine(directory, "." + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", length));
    }
}

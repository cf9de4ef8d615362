using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The libc calls that take over a listening socket another process (systemd) opened.</summary>
    internal static partial class Libc
    {
        internal const int SOL_SOCKET = 1;
        internal const int SO_TYPE = 3;
        internal const int SO_ACCEPTCONN = 30;
        internal const int O_CLOEXEC = 0x80000;
        internal const int F_SETFD = 2;
        internal const int FD_CLOEXEC = 1;

        /// <summary>getsockname(2) on a bare descriptor; <paramref name="length"/> is in/out.</summary>
        [LibraryImport(LibraryName, EntryPoint = "getsockname", SetLastError = true)]
        internal static unsafe partial int GetSockName(int fd, byte* address, ref int length);

        /// <summary>getsockopt(2) of an int option on a bare descriptor.</summary>
        [LibraryImport(LibraryName, EntryPoint = "getsockopt", SetLastError = true)]
        internal static partial int GetSockOptInt32(int fd, int level, int name, out int value, ref int length);

        /// <summary>dup3(2): makes <paramref name="newFd"/> refer to what <paramref name="oldFd"/> refers to, closing what it referred to.</summary>
        [LibraryImport(LibraryName, EntryPoint = "dup3", SetLastError = true)]
        internal static partial int Dup3(int oldFd, SafeHandle newFd, int flags);

        /// <summary>fcntl(2) with an int argument.</summary>
        [LibraryImport(LibraryName, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int Fcntl(int fd, int command, int argument);
    }
}

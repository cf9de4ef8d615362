using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The few libc calls that .NET's socket layer does not make for AF_VSOCK.</summary>
    internal static partial class Libc
    {
        private const string LibraryName = "libc";

        /// <summary>socket(2). Returns a descriptor or -1 with errno set.</summary>
        [LibraryImport(LibraryName, EntryPoint = "socket", SetLastError = true)]
        internal static partial int Socket(int domain, int type, int protocol);

        /// <summary>close(2), for a descriptor that never made it into a SafeHandle.</summary>
        [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);

        /// <summary>getsockname(2) into a caller's buffer; <paramref name="length"/> is in/out.</summary>
        [LibraryImport(LibraryName, EntryPoint = "getsockname", SetLastError = true)]
        internal static unsafe partial int GetSockName(SafeHandle fd, byte* address, ref int length);

        /// <summary>open(2) of a device, read-only and close-on-exec. Returns a descriptor or -1 with errno set.</summary>
        [LibraryImport(LibraryName, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Open(string path, int flags);

        /// <summary>ioctl(2) with an unsigned 32-bit out argument.</summary>
        [LibraryImport(LibraryName, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int IoctlUInt32(SafeHandle fd, nuint request, out uint value);
    }
}

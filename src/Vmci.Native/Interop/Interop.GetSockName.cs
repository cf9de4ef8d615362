using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>getsockname(2) into a caller's buffer; <paramref name="length"/> is in/out.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockname", SetLastError = true)]
        internal static unsafe partial int GetSockName(SafeHandle fd, byte* address, ref int length);

        /// <summary>getsockname(2) on a bare descriptor (one another process opened); <paramref name="length"/> is in/out.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockname", SetLastError = true)]
        internal static unsafe partial int GetSockName(int fd, byte* address, ref int length);
    }
}

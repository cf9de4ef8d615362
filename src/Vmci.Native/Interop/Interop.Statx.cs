using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>
        /// statx(2) into a caller's buffer of at least 256 bytes (struct statx has one layout on every
        /// architecture, unlike struct stat). Returns 0, or -1 with errno set.
        /// </summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
    }
}

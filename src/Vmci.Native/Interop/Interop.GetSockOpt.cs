using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SOL_SOCKET = 1;
        internal const int SO_TYPE = 3;
        internal const int SO_ACCEPTCONN = 30;

        /// <summary>getsockopt(2) of an int option on a bare descriptor.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
        internal static partial int GetSockOptInt32(int fd, int level, int name, out int value, ref int length);
    }
}

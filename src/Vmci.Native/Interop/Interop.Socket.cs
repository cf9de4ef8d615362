using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>socket(2). Returns a descriptor or -1 with errno set.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial int Socket(int domain, int type, int protocol);
    }
}

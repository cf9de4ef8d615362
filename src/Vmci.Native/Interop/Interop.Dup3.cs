using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>dup3(2): makes <paramref name="newFd"/> refer to what <paramref name="oldFd"/> refers to, closing what it referred to.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "dup3", SetLastError = true)]
        internal static partial int Dup3(int oldFd, SafeHandle newFd, int flags);
    }
}

using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>ioctl(2) with an unsigned 32-bit out argument.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int IoctlUInt32(SafeHandle fd, nuint request, out uint value);
    }
}

using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>chmod(2). Returns 0, or -1 with errno set.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Chmod(string path, uint mode);
    }
}

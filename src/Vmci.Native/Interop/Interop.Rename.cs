using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>
        /// rename(2): atomically puts <paramref name="oldPath"/> where <paramref name="newPath"/> is, replacing
        /// what was there. Returns 0, or -1 with errno set.
        /// </summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Rename(string oldPath, string newPath);
    }
}

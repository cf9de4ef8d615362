using System.IO;
using System.Linq;

namespace Vmci.Testing;

internal static class FileDescriptors
{
    /// <summary>The open descriptors of this process that are sockets.</summary>
    internal static int Count() => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
        .Count(fd => fd.LinkTarget?.StartsWith("socket:", System.StringComparison.Ordinal) == true);
}

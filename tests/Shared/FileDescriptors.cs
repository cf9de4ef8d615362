using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Vmci.Testing;

internal static class FileDescriptors
{
    /// <summary>The open descriptors of this process that are sockets.</summary>
    internal static int Count() => Sockets().Count();

    /// <summary>
    /// The sockets this process holds now, by inode. Compare a later snapshot with <see cref="OpenedSince"/>:
    /// sockets that earlier tests left to the finalizer may close meanwhile, which would make a plain count
    /// fall below its baseline and hide (or fake) a leak.
    /// </summary>
    internal static HashSet<string> Snapshot() => Sockets().ToHashSet(StringComparer.Ordinal);

    /// <summary>The sockets open now that were not open at <paramref name="baseline"/>.</summary>
    internal static IReadOnlyList<string> OpenedSince(HashSet<string> baseline) => Sockets().Where(s => !baseline.Contains(s)).ToList();

    private static IEnumerable<string> Sockets()
    {
        foreach (FileSystemInfo fd in new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos())
        {
            string? target;
            try
            {
                target = fd.LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while we listed it
            }

            if (target?.StartsWith("socket:", StringComparison.Ordinal) == true)
            {
                yield return target;
            }
        }
    }
}

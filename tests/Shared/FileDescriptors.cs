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

    /// <summary>
    /// The Unix sockets this process holds that are bound to a path under <paramref name="directory"/>, as
    /// "socket:[INODE] PATH". Tests that run at the same time hold sockets of their own, so a leak check that
    /// counts every socket could blame them; one bound in a test's own directory is the test's.
    /// </summary>
    internal static IReadOnlyList<string> UnixSocketsBoundUnder(string directory)
    {
        string prefix = directory.TrimEnd('/') + "/";
        var bound = new Dictionary<string, string>(StringComparer.Ordinal);
        // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path, the path only for bound sockets.
        foreach (string line in File.ReadLines("/proc/net/unix").Skip(1))
        {
            string[] fields = line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 8 && fields[7].StartsWith(prefix, StringComparison.Ordinal))
            {
                bound[$"socket:[{fields[6]}]"] = fields[7];
            }
        }

        return Sockets().Where(bound.ContainsKey).Select(s => $"{s} {bound[s]}").ToList();
    }

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

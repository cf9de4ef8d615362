using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Vmci.Testing;

/// <summary>
/// Runs code on a thread of its own whose file-system identity is another user's. Linux checks file access
/// (connecting to a Unix socket included) against the thread's fsuid and fsgid, and setfsuid(2) changes only the
/// calling thread; a root thread that takes a non-zero fsuid also loses its file capabilities (CAP_DAC_OVERRIDE)
/// for as long as it keeps it. So the test process stays root and no child process (which would have to read the
/// test assembly from a clone that only root may read) is needed.
/// </summary>
internal static partial class ThreadFileSystemUser
{
    /// <summary>The traditional nobody / nogroup.</summary>
    internal const uint Nobody = 65534;

    /// <summary>Only root may take another user's identity.</summary>
    internal static bool CanSwitch => Environment.IsPrivilegedProcess;

    internal static T RunAs<T>(uint uid, uint gid, Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            // setfsuid reports the previous id whatever happens; read it back to know the switch took.
            _ = SetFsGid(gid);
            _ = SetFsUid(uid);
            try
            {
                if (SetFsUid(uint.MaxValue) != uid || SetFsGid(uint.MaxValue) != gid)
                {
                    throw new InvalidOperationException($"setfsuid({uid}) / setfsgid({gid}) did not take");
                }

                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                _ = SetFsUid(0);
                _ = SetFsGid(0);
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"the action failed on the thread running as uid {uid}", failure);
        }

        return result!;
    }

    [LibraryImport("libc", EntryPoint = "setfsuid")]
    private static partial uint SetFsUid(uint uid);

    [LibraryImport("libc", EntryPoint = "setfsgid")]
    private static partial uint SetFsGid(uint gid);
}

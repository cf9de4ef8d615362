using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Threading;

namespace Vmci.Testing;

/// <summary>
/// Runs code on a thread of its own that lacks a capability. Linux keeps capabilities per thread, and
/// capset(2) changes only the calling one, so the rest of the test process keeps its privileges, and no
/// second process (which another user might not be allowed to start from where the tests are) is needed.
/// </summary>
internal static partial class ThreadCapabilities
{
    internal const int DacOverride = 1; // CAP_DAC_OVERRIDE: file permission checks
    internal const int NetBindService = 10; // CAP_NET_BIND_SERVICE

    private const uint Version3 = 0x20080522; // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set

    internal static T RunWithout<T>(int capability, Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Drop(capability);
                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        // The thread ends with the action, so its reduced capabilities never run other code.
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("the action failed on the thread without the capability", failure);
        }

        return result!;
    }

    private static unsafe void Drop(int capability)
    {
        var header = new CapHeader { Version = Version3, Pid = 0 };
        CapData* data = stackalloc CapData[2];
        if (CapGet(&header, data) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "capget failed");
        }

        uint mask = ~(1u << (capability % 32));
        data[capability / 32].Effective &= mask;
        data[capability / 32].Permitted &= mask;
        if (CapSet(&header, data) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "capset failed");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static unsafe partial int CapGet(CapHeader* header, CapData* data);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static unsafe partial int CapSet(CapHeader* header, CapData* data);
}

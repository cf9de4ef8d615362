using System;
using System.Collections.Generic;
using System.Globalization;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Reads the environment of systemd socket activation as sd_listen_fds_with_names(3) does: LISTEN_PID
/// names the process the sockets are for, LISTEN_FDS how many there are from descriptor 3 on, and
/// LISTEN_FDNAMES their colon-separated names (FileDescriptorName=, or the socket unit's name).
/// </summary>
internal static class VmciSocketActivationEnvironment
{
    internal const string PidVariable = "LISTEN_PID";
    internal const string CountVariable = "LISTEN_FDS";
    internal const string NamesVariable = "LISTEN_FDNAMES";

    /// <summary>SD_LISTEN_FDS_START: the first passed descriptor.</summary>
    internal const int FirstDescriptor = 3;

    /// <summary>The name systemd reports for a descriptor when LISTEN_FDNAMES is not set.</summary>
    internal const string UnknownName = "unknown";

    /// <summary>The passed descriptors and their names; empty when the variables are absent or meant for another process.</summary>
    /// <exception cref="FormatException">A variable is malformed; the message names it and the fix.</exception>
    internal static IReadOnlyList<VmciActivatedSocket> Parse(string? pid, string? count, string? names, int processId)
    {
        if (pid is null || count is null)
        {
            return [];
        }

        if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int listenPid) || listenPid <= 0)
        {
            throw new FormatException($"{PidVariable} = '{pid}' is not a process ID: whoever started this process (systemd, systemd-socket-activate) set it wrong.");
        }

        if (listenPid != processId)
        {
            // Set for a parent (a wrapper script, dotnet's host) that did not take the sockets: not ours.
            return [];
        }

        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > int.MaxValue - FirstDescriptor)
        {
            throw new FormatException($"{CountVariable} = '{count}' is not a number of descriptors: whoever started this process (systemd, systemd-socket-activate) set it wrong.");
        }

        string[] split = names?.Split(':') ?? [];
        if (names is not null && split.Length != n)
        {
            throw new FormatException(
                $"{NamesVariable} = '{names}' has {split.Length} names for {CountVariable} = {n} descriptors: every passed socket needs one name (FileDescriptorName= in the socket unit, --fdname for systemd-socket-activate).");
        }

        var listeners = new VmciActivatedSocket[n];
        for (int i = 0; i < n; i++)
        {
            listeners[i] = new VmciActivatedSocket(FirstDescriptor + i, names is null ? UnknownName : split[i]);
        }

        return listeners;
    }
}

using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Vmci.Native;

namespace WebAppOverVmci;

/// <summary>What a person managing the VM wants to see, read from /proc and the runtime each time.</summary>
public sealed class SystemStatus(RequestLog requests)
{
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    public StatusSnapshot Read() => new(
        Hostname: Environment.MachineName,
        OperatingSystem: ReadOsName(),
        Kernel: Environment.OSVersion.VersionString,
        UptimeSeconds: ReadUptimeSeconds(),
        ProcessorCount: Environment.ProcessorCount,
        LoadAverage: ReadLoadAverage(),
        MemoryTotalBytes: ReadMeminfo("MemTotal"),
        MemoryAvailableBytes: ReadMeminfo("MemAvailable"),
        LocalCid: ReadLocalCid(),
        DotnetVersion: RuntimeInformation.FrameworkDescription,
        ServerStarted: _started,
        RequestsServed: requests.Served,
        RecentCallers: requests.Recent());

    private static string? ReadLocalCid()
    {
        try
        {
            return VmciPlatform.GetLocalCid().ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is VmciSocketException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    private static string ReadOsName()
    {
        string? pretty = ReadLines("/etc/os-release")
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2 && p[0] == "PRETTY_NAME")
            .Select(p => p[1].Trim('"'))
            .FirstOrDefault();
        return pretty ?? RuntimeInformation.OSDescription;
    }

    private static double? ReadUptimeSeconds()
        => ReadLines("/proc/uptime").FirstOrDefault()?.Split(' ') is [var up, ..] && double.TryParse(up, CultureInfo.InvariantCulture, out double s) ? s : null;

    private static double[]? ReadLoadAverage()
        => ReadLines("/proc/loadavg").FirstOrDefault()?.Split(' ') is [var a, var b, var c, ..]
            ? [double.Parse(a, CultureInfo.InvariantCulture), double.Parse(b, CultureInfo.InvariantCulture), double.Parse(c, CultureInfo.InvariantCulture)]
            : null;

    private static long? ReadMeminfo(string key)
    {
        string? line = ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var kb, ..] && long.TryParse(kb, CultureInfo.InvariantCulture, out long v) ? v * 1024 : null;
    }

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}

public sealed record StatusSnapshot(
    string Hostname,
    string OperatingSystem,
    string Kernel,
    double? UptimeSeconds,
    int ProcessorCount,
    double[]? LoadAverage,
    long? MemoryTotalBytes,
    long? MemoryAvailableBytes,
    string? LocalCid,
    string DotnetVersion,
    DateTimeOffset ServerStarted,
    long RequestsServed,
    Caller[] RecentCallers);

using System;
using System.Globalization;
using System.IO;
using System.Linq;

/// <summary>Machine-wide CPU time and context switches from /proc/stat (zero where there is no /proc).</summary>
internal readonly record struct MachineCounters(double BusyMilliseconds, long ContextSwitches)
{
    public static MachineCounters Read()
    {
        if (!File.Exists("/proc/stat"))
        {
            return default;
        }

        string[] lines = File.ReadAllLines("/proc/stat");
        // "cpu  user nice system idle iowait irq softirq steal ...", in clock ticks (USER_HZ, 100 on Linux).
        long[] cpu = lines.First(l => l.StartsWith("cpu ", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        long busy = cpu.Sum() - cpu[3] - cpu[4];
        long switches = long.Parse(lines.First(l => l.StartsWith("ctxt ", StringComparison.Ordinal))[5..], CultureInfo.InvariantCulture);
        return new MachineCounters(busy * 10.0, switches);
    }

    public static MachineCounters operator -(MachineCounters a, MachineCounters b)
        => new(a.BusyMilliseconds - b.BusyMilliseconds, a.ContextSwitches - b.ContextSwitches);
}

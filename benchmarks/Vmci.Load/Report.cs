using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

/// <summary>
/// Turns the suite's JSON lines into RESULTS.md and two charts. Each comparison was measured in rounds; the report shows
/// the median of the rounds and, for ratios, the range of the per-round ratios (vsock and TCP of the same round ran one
/// right after the other), so that a reader sees how much of a difference is noise.
/// </summary>
internal static class Report
{
    private static readonly string[] Transports = ["vsock", "tcp", "unix"];
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static void Write(string[] lines, string outputDirectory)
    {
        JsonElement[] rows = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        JsonElement[] load = rows.Where(r => r.TryGetProperty("rps", out _) && r.TryGetProperty("target", out _) && Str(r, "label") != "warmup").ToArray();
        JsonElement[] raw = rows.Where(r => r.TryGetProperty("raw", out _)).ToArray();
        JsonElement[] idle = rows.Where(r => r.TryGetProperty("idle", out _)).ToArray();
        JsonElement[] h2load = rows.Where(r => r.TryGetProperty("h2load", out _)).ToArray();
        JsonElement[] plain = load.Where(r => Str(r, "label") == "rps").ToArray();
        JsonElement[] bulk = load.Where(r => Str(r, "label").StartsWith("download", StringComparison.Ordinal) || Str(r, "label").StartsWith("upload", StringComparison.Ordinal)).ToArray();
        JsonElement[] fresh = load.Where(r => Str(r, "label") == "connect").ToArray();
        string allocationsFile = Path.Combine(outputDirectory, "transport-allocations.json");
        JsonElement? allocations = File.Exists(allocationsFile) ? JsonDocument.Parse(File.ReadAllText(allocationsFile)).RootElement.Clone() : null;

        double rawVsock = Median(raw.Where(r => Str(r, "raw") == "vsock").Select(r => Num(r, "mibPerSecond")));
        var md = new StringBuilder();
        md.AppendLine("# Benchmark results");
        md.AppendLine();
        if (rows.FirstOrDefault(r => r.TryGetProperty("machine", out _)) is { ValueKind: JsonValueKind.Object } meta)
        {
            md.AppendLine(Ci, $"Run {Str(meta, "date")} on {Str(meta, "machine")}, with `benchmarks/run`. Every comparison ran its transports one after the other, in {Num(meta, "rounds")} rounds of {Num(meta, "duration")} s each (after opening the connections and a warm-up), starting with a different transport each round. Tables show the median of the rounds; a ratio's range in brackets is the lowest and highest per-round ratio, which shows how much is noise. Client and server share the VM's CPUs; the VM runs under TCG emulation, 50-100x slower than hardware: compare ratios, not absolutes.");
            md.AppendLine();
        }

        WriteTargets(md, plain, bulk, rawVsock, idle, allocations);
        PeerReport.Write(md, rows, plain);

        WriteRawCeiling(md, raw, rawVsock);
        WriteThroughput(md, bulk, rawVsock, outputDirectory);
        WriteRequestRates(md, plain);
        WriteTransportAlone(md, allocations);
        WriteH2Load(md, h2load);
        WriteConnectionSetup(md, fresh);
        WriteIdleConnections(md, idle);
        WriteScaling(md, plain, outputDirectory);
        WriteErrors(md, load);

        File.WriteAllText(Path.Combine(outputDirectory, "RESULTS.md"), md.ToString());
    }

    private static void WriteRawCeiling(StringBuilder md, JsonElement[] raw, double rawVsock)
    {
        if (raw.Length > 0)
        {
            md.AppendLine("## Raw ceiling: socat, one stream, no HTTP");
            md.AppendLine();
            md.AppendLine("| transport | MiB/s | vs vsock |");
            md.AppendLine("| --- | ---: | ---: |");
            foreach (string t in Transports)
            {
                double v = Median(raw.Where(r => Str(r, "raw") == t).Select(r => Num(r, "mibPerSecond")));
                md.AppendLine(Ci, $"| {t} | {v:F1} | {Percent(v / rawVsock)} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteThroughput(StringBuilder md, JsonElement[] bulk, double rawVsock, string outputDirectory)
    {
        if (bulk.Length > 0)
        {
            md.AppendLine("## HTTP throughput (HTTP/1.1, one connection)");
            md.AppendLine();
            md.AppendLine("![throughput per transfer and transport](throughput.png)");
            md.AppendLine();
            md.AppendLine("| transfer | vsock MiB/s | tcp MiB/s | unix MiB/s | vsock / tcp [rounds] | vsock / raw vsock |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in bulk.GroupBy(r => Str(r, "label")))
            {
                double Of(string t) => Median(group.Where(r => TransportOf(r) == t).Select(r => Num(r, "mibPerSecond")));
                md.AppendLine(Ci, $"| {group.Key} | {F1(Of("vsock"))} | {F1(Of("tcp"))} | {F1(Of("unix"))} | {RatioWithRange(group.ToArray(), "mibPerSecond")} | {Percent(Of("vsock") / rawVsock)} |");
            }

            md.AppendLine();
            md.AppendLine("The rows with a 256 KiB vsock window ran against a second server configured with the kernel's default window (`Vmci:Transport:BufferSize=262144`, and the same on the client), to show what the project's 4 MiB default buys.");
            md.AppendLine();
            File.WriteAllText(Path.Combine(outputDirectory, "throughput.svg"), Charts.Bars(
                "HTTP/1.1 throughput, one connection (median MiB/s)",
                "MiB/s",
                bulk.Where(r => !Str(r, "label").Contains("window", StringComparison.Ordinal)).GroupBy(r => (Label: Str(r, "label"), Transport: TransportOf(r)))
                    .Select(g => (ShortLabel(g.Key.Label), g.Key.Transport, Median(g.Select(r => Num(r, "mibPerSecond")))))
                    .ToList()));
        }
    }

    private static void WriteRequestRates(StringBuilder md, JsonElement[] plain)
    {
        if (plain.Length > 0)
        {
            md.AppendLine("## Requests per second and latency (plaintext, keep-alive, one connection per client)");
            md.AppendLine();
            md.AppendLine("| HTTP | connections | vsock rps | tcp rps | unix rps | vsock / tcp [rounds] | vsock p50 / p99 ms | tcp p50 / p99 ms | unix p50 / p99 ms |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in ByLevel(plain))
            {
                double Of(string t, string p) => Median(group.Where(r => TransportOf(r) == t).Select(r => Num(r, p)));
                string Lat(string t) => string.Create(Ci, $"{Of(t, "p50ms"):F1} / {Of(t, "p99ms"):F1}");
                md.AppendLine(Ci, $"| {group.Key.Http} | {group.Key.Connections} | {Of("vsock", "rps"):F0} | {Of("tcp", "rps"):F0} | {Of("unix", "rps"):F0} | {RatioWithRange(group.ToArray(), "rps")} | {Lat("vsock")} | {Lat("tcp")} | {Lat("unix")} |");
            }

            md.AppendLine();
            md.AppendLine("What a request costs the machine (client, server and the kernel's workers share the VM; /proc/stat over the measured window), median of the rounds:");
            md.AppendLine();
            md.AppendLine("| HTTP | connections | vsock CPU ms / request | tcp CPU ms / request | unix CPU ms / request | vsock context switches / request | tcp context switches / request | unix context switches / request |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in ByLevel(plain))
            {
                double Of(string t, string p) => Median(group.Where(r => TransportOf(r) == t).Select(r => Num(r, p)));
                md.AppendLine(Ci, $"| {group.Key.Http} | {group.Key.Connections} | {Of("vsock", "cpuMsPerRequest"):F2} | {Of("tcp", "cpuMsPerRequest"):F2} | {Of("unix", "cpuMsPerRequest"):F2} | {Of("vsock", "contextSwitchesPerRequest"):F1} | {Of("tcp", "contextSwitchesPerRequest"):F1} | {Of("unix", "contextSwitchesPerRequest"):F1} |");
            }

            md.AppendLine();
            md.AppendLine("Server allocations per request, plaintext over HTTP/1.1 keep-alive: the whole server (Kestrel, routing, the endpoint and the transport), median of the rounds. The transport's own share is measured alone below.");
            md.AppendLine();
            md.AppendLine("| connections | vsock bytes | tcp bytes | unix bytes |");
            md.AppendLine("| ---: | ---: | ---: | ---: |");
            foreach (var group in plain.Where(r => Str(r, "http") == "1.1").GroupBy(r => (int)Num(r, "connections")).OrderBy(g => g.Key))
            {
                double Of(string t) => Median(group.Where(r => TransportOf(r) == t).Select(r => Num(r, "serverAllocatedPerRequest")));
                md.AppendLine(Ci, $"| {group.Key} | {Of("vsock"):F0} | {Of("tcp"):F0} | {Of("unix"):F0} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteTransportAlone(StringBuilder md, JsonElement? allocations)
    {
        if (allocations is { } bdn)
        {
            md.AppendLine("## The transport alone: BenchmarkDotNet, MemoryDiagnoser");
            md.AppendLine();
            md.AppendLine("A message out and back over one connection: the client is the transport's own client, the server an echo loop on the accepted connection's pipes, both in one process, so `allocated` is everything both ends of the transport allocate per round trip (`benchmarks/Vmci.Benchmarks.Transport`).");
            md.AppendLine();
            md.AppendLine("| transport | message | mean µs | allocated per round trip |");
            md.AppendLine("| --- | ---: | ---: | ---: |");
            foreach (JsonElement b in bdn.GetProperty("Benchmarks").EnumerateArray())
            {
                Dictionary<string, string> p = Str(b, "Parameters").Split('&').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
                bool ok = b.TryGetProperty("Statistics", out JsonElement stats) && stats.ValueKind == JsonValueKind.Object;
                string mean = ok ? (stats.GetProperty("Median").GetDouble() / 1000).ToString("F1", Ci) : "failed";
                string bytes = ok ? $"{b.GetProperty("Memory").GetProperty("BytesAllocatedPerOperation").GetInt64()} B" : "-";
                md.AppendLine(Ci, $"| {p["Transport"]} | {p["MessageSize"]} B | {mean} | {bytes} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteH2Load(StringBuilder md, JsonElement[] h2load)
    {
        if (h2load.Length > 0)
        {
            md.AppendLine("## Outside reference: h2load through a socat bridge");
            md.AppendLine();
            md.AppendLine("nghttp2's h2load, 16 connections (HTTP/2: 10 streams each), reaches each transport through the same `socat TCP-LISTEN,fork` bridge, so the bridge costs every transport alike.");
            md.AppendLine();
            md.AppendLine("| HTTP | vsock rps | tcp rps | unix rps | vsock / tcp [rounds] | failed |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in h2load.GroupBy(r => Str(r, "http")).OrderBy(g => g.Key))
            {
                double Of(string t) => Median(group.Where(r => Str(r, "h2load") == t).Select(r => Num(r, "rps")));
                md.AppendLine(Ci, $"| {group.Key} | {Of("vsock"):F0} | {Of("tcp"):F0} | {Of("unix"):F0} | {RatioWithRange(group.ToArray(), "rps", r => Str(r, "h2load"))} | {group.Sum(r => Num(r, "failed")):F0} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteConnectionSetup(StringBuilder md, JsonElement[] fresh)
    {
        if (fresh.Length > 0)
        {
            md.AppendLine("## Connection setup (a new connection per request, HTTP/1.1, 16 clients)");
            md.AppendLine();
            md.AppendLine("| transport | connections/s | p50 / p99 ms | vs tcp [rounds] |");
            md.AppendLine("| --- | ---: | ---: | ---: |");
            foreach (string t in Transports)
            {
                JsonElement[] mine = fresh.Where(r => TransportOf(r) == t).ToArray();
                md.AppendLine(Ci, $"| {t} | {Median(mine.Select(r => Num(r, "rps"))):F0} | {Median(mine.Select(r => Num(r, "p50ms"))):F1} / {Median(mine.Select(r => Num(r, "p99ms"))):F1} | {(t == "vsock" ? RatioWithRange(fresh, "rps") : "")} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteIdleConnections(StringBuilder md, JsonElement[] idle)
    {
        if (idle.Length > 0)
        {
            md.AppendLine(Ci, $"## Idle connections: server memory per connection ({Num(idle[0], "idle")} idle keep-alive connections)");
            md.AppendLine();
            md.AppendLine("Each measurement in a fresh server: managed heap and working set as the server reports them after a full collection, before the connections opened and while they were open; kernel slab memory from /proc/meminfo, which counts both ends of each connection (client and server share the VM).");
            md.AppendLine();
            md.AppendLine("| transport | managed heap per connection | working set per connection | kernel slab per connection (both ends) |");
            md.AppendLine("| --- | ---: | ---: | ---: |");
            foreach (string t in Transports)
            {
                JsonElement[] mine = idle.Where(r => TransportOf(r) == t).ToArray();
                md.AppendLine(Ci, $"| {t} | {Median(mine.Select(r => Num(r, "managedPerConnection"))):F0} B | {Median(mine.Select(r => Num(r, "workingSetPerConnection"))):F0} B | {Median(mine.Select(r => Num(r, "kernelSlabPerConnection"))):F0} B |");
            }

            md.AppendLine();
        }
    }

    private static void WriteScaling(StringBuilder md, JsonElement[] plain, string outputDirectory)
    {
        JsonElement[] scaling = plain.Where(r => Str(r, "http") == "1.1").ToArray();
        if (scaling.Length > 0)
        {
            md.AppendLine("## How cost grows with connections (plaintext, HTTP/1.1)");
            md.AppendLine();
            md.AppendLine("![requests per second against connections](scaling.png)");
            md.AppendLine();
            md.AppendLine("Server memory is read while the connections are open, after a full collection.");
            md.AppendLine();
            md.AppendLine("| connections | vsock rps | tcp rps | unix rps | vsock managed MiB | tcp managed MiB | vsock working set MiB | tcp working set MiB |");
            md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in scaling.GroupBy(r => (int)Num(r, "connections")).OrderBy(g => g.Key))
            {
                double Of(string t, string p) => Median(group.Where(r => TransportOf(r) == t).Select(r => Num(r, p)));
                md.AppendLine(Ci, $"| {group.Key} | {Of("vsock", "rps"):F0} | {Of("tcp", "rps"):F0} | {Of("unix", "rps"):F0} | {Of("vsock", "serverManagedBytes") / (1 << 20):F1} | {Of("tcp", "serverManagedBytes") / (1 << 20):F1} | {Of("vsock", "serverWorkingSetBytes") / (1 << 20):F1} | {Of("tcp", "serverWorkingSetBytes") / (1 << 20):F1} |");
            }

            md.AppendLine();
            File.WriteAllText(Path.Combine(outputDirectory, "scaling.svg"), Charts.Lines(
                "Plaintext HTTP/1.1 keep-alive: requests per second (median)",
                "requests per second",
                scaling.GroupBy(r => (Transport: TransportOf(r), Connections: (int)Num(r, "connections")))
                    .OrderBy(g => Array.IndexOf(Transports, g.Key.Transport))
                    .Select(g => (g.Key.Transport, g.Key.Connections, Median(g.Select(r => Num(r, "rps")))))
                    .ToList()));
        }
    }

    private static void WriteErrors(StringBuilder md, JsonElement[] load)
    {
        long errors = (long)load.Sum(r => Num(r, "errors"));
        if (errors > 0)
        {
            md.AppendLine(Ci, $"Errors during the run: {errors} (first: {load.Select(r => Str(r, "firstError")).FirstOrDefault(e => e.Length > 0)}).");
        }
    }

    /// <summary>The issue's targets, each with the number that decides it.</summary>
    private static void WriteTargets(StringBuilder md, JsonElement[] plain, JsonElement[] bulk, double rawVsock, JsonElement[] idle, JsonElement? allocations)
    {
        md.AppendLine("## Targets");
        md.AppendLine();
        md.AppendLine("| target | measured | verdict |");
        md.AppendLine("| --- | --- | --- |");
        if (plain.Length > 0)
        {
            var perLevel = ByLevel(plain)
                .Select(g => (g.Key, Ratio: MedianRatio(g.ToArray(), "rps"), Best: RoundRatios(g.ToArray(), "rps", TransportOf).DefaultIfEmpty(double.NaN).Max(),
                    P99: Median(g.Where(r => TransportOf(r) == "vsock").Select(r => Num(r, "p99ms"))) / Median(g.Where(r => TransportOf(r) == "tcp").Select(r => Num(r, "p99ms")))))
                .OrderBy(x => x.Ratio).ToArray();
            var worst = perLevel[0];
            int below = perLevel.Count(x => x.Ratio < 1);
            md.AppendLine(Ci, $"| vsock rps >= TCP at every concurrency | lowest median ratio {Percent(worst.Ratio)} (HTTP/{worst.Key.Http}, {worst.Key.Connections} connections); below 100 % at {below} of {perLevel.Length} levels | {Verdict(below == 0, perLevel.All(x => x.Best >= 1))} |");
            var worstP99 = perLevel.OrderByDescending(x => x.P99).First();
            int p99Worse = perLevel.Count(x => x.P99 > 1);
            md.AppendLine(Ci, $"| vsock p99 no worse than TCP | highest vsock / tcp p99 {Percent(worstP99.P99)} (HTTP/{worstP99.Key.Http}, {worstP99.Key.Connections} connections); worse at {p99Worse} of {perLevel.Length} levels | {Verdict(p99Worse == 0, false)} |");
        }

        if (bulk.FirstOrDefault(r => Str(r, "label") == "download 65536 KiB") is { ValueKind: JsonValueKind.Object } big)
        {
            double download = Median(bulk.Where(r => Str(r, "label") == Str(big, "label") && TransportOf(r) == "vsock").Select(r => Num(r, "mibPerSecond")));
            md.AppendLine(Ci, $"| 64 MiB HTTP download >= 80 % of the raw vsock ceiling | {download:F1} of {rawVsock:F1} MiB/s = {Percent(download / rawVsock)} | {Verdict(download / rawVsock >= 0.8, false)} |");
        }

        if (allocations is { } bdn)
        {
            var vsock = bdn.GetProperty("Benchmarks").EnumerateArray().Where(b => Str(b, "Parameters").Contains("Transport=vsock", StringComparison.Ordinal)
                && b.TryGetProperty("Statistics", out JsonElement s) && s.ValueKind == JsonValueKind.Object).ToArray();
            long most = vsock.Length == 0 ? -1 : vsock.Max(b => b.GetProperty("Memory").GetProperty("BytesAllocatedPerOperation").GetInt64());
            md.AppendLine(Ci, $"| zero transport allocations per request (steady state) | vsock round trip, both ends: {(most < 0 ? "not measured" : $"{most} B")} (BenchmarkDotNet) | {Verdict(most == 0, false)} |");
        }

        if (idle.Length > 0)
        {
            double Of(string t, string p) => Median(idle.Where(r => TransportOf(r) == t).Select(r => Num(r, p)));
            double managed = Of("vsock", "managedPerConnection") / Of("tcp", "managedPerConnection");
            double workingSet = Of("vsock", "workingSetPerConnection") / Of("tcp", "workingSetPerConnection");
            double kernel = Of("vsock", "kernelSlabPerConnection") / Of("tcp", "kernelSlabPerConnection");
            md.AppendLine(Ci, $"| {Num(idle[0], "idle"):F0} idle vsock connections cost no more memory than TCP | per connection, vsock vs tcp: managed heap {Of("vsock", "managedPerConnection"):F0} vs {Of("tcp", "managedPerConnection"):F0} B ({Percent(managed)}); working set {Of("vsock", "workingSetPerConnection"):F0} vs {Of("tcp", "workingSetPerConnection"):F0} B ({Percent(workingSet)}); kernel slab, both ends {Of("vsock", "kernelSlabPerConnection"):F0} vs {Of("tcp", "kernelSlabPerConnection"):F0} B ({Percent(kernel)}) | {(managed <= 1.02 && workingSet <= 1.0 ? "met" : managed <= 1.02 && workingSet <= 1.1 ? "within noise (managed within 2 %, working set within 10 %)" : "not met")} |");
        }

        md.AppendLine();
    }

    /// <summary>"download 65536 KiB" as "down 64 MiB", short enough for a chart's axis.</summary>
    private static string ShortLabel(string label)
    {
        string[] parts = label.Split(' ');
        long kib = long.Parse(parts[1], Ci);
        string size = kib >= 1024 ? $"{kib / 1024} MiB" : $"{kib} KiB";
        return $"{(parts[0] == "download" ? "down" : "up")} {size}";
    }

    private static string F1(double value) => double.IsFinite(value) ? value.ToString("F1", Ci) : "-";

    /// <summary>The plaintext runs by protocol and connection count, in table order.</summary>
    private static IEnumerable<IGrouping<(string Http, int Connections), JsonElement>> ByLevel(JsonElement[] plain)
        => plain.GroupBy(r => (Http: Str(r, "http"), Connections: (int)Num(r, "connections"))).OrderBy(g => g.Key.Http).ThenBy(g => g.Key.Connections);

    private static string Verdict(bool met, bool withinNoise) => met ? "met" : withinNoise ? "within noise (every level had a round where vsock >= TCP)" : "not met";

    private static string TransportOf(JsonElement r) => Str(r, "target").Split(':')[0];

    /// <summary>vsock / tcp of the medians, and the range of the per-round ratios.</summary>
    private static string RatioWithRange(JsonElement[] rows, string property, Func<JsonElement, string>? transportOf = null)
    {
        transportOf ??= TransportOf;
        double[] perRound = RoundRatios(rows, property, transportOf).ToArray();
        string range = perRound.Length > 1 ? $" [{Percent(perRound.Min())}-{Percent(perRound.Max())}]" : "";
        return Percent(MedianRatio(rows, property, transportOf)) + range;
    }

    private static double MedianRatio(JsonElement[] rows, string property, Func<JsonElement, string>? transportOf = null)
    {
        transportOf ??= TransportOf;
        return Median(rows.Where(r => transportOf(r) == "vsock").Select(r => Num(r, property)))
            / Median(rows.Where(r => transportOf(r) == "tcp").Select(r => Num(r, property)));
    }

    private static IEnumerable<double> RoundRatios(JsonElement[] rows, string property, Func<JsonElement, string> transportOf)
        => rows.GroupBy(r => Num(r, "round"))
            .Select(g => (Vsock: g.FirstOrDefault(r => transportOf(r) == "vsock"), Tcp: g.FirstOrDefault(r => transportOf(r) == "tcp")))
            .Where(p => p.Vsock.ValueKind == JsonValueKind.Object && p.Tcp.ValueKind == JsonValueKind.Object && Num(p.Tcp, property) > 0)
            .Select(p => Num(p.Vsock, property) / Num(p.Tcp, property));

    internal static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    internal static string Percent(double ratio) => double.IsFinite(ratio) ? ratio.ToString("P0", Ci).Replace(" ", "", StringComparison.Ordinal) : "-";

    internal static string Str(JsonElement r, string name)
        => r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    internal static double Num(JsonElement r, string name)
        => r.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}

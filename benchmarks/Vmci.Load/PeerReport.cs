using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;

/// <summary>
/// The comparison with other vsock HTTP stacks (issue 12): the rows vsock-load (benchmarks/peers/go/load) wrote, one per
/// server, connection count and round, with each target's measured ratio and verdict, and the knobs' runs.
/// </summary>
internal static class PeerReport
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;
    private static readonly int[] Levels = [1, 16, 64];

    private static readonly (string Name, string Description)[] Servers =
    [
        ("kestrel", "Kestrel + this transport (benchmarks server, minimal API)"),
        ("kestrel-bare", "Kestrel + this transport, bare endpoint (no routing)"),
        ("go", "Go net/http + mdlayher/vsock"),
        ("hyper", "Rust hyper 0.14 + tokio-vsock 0.3"),
        ("socat-bridge", "Kestrel on TCP behind `socat VSOCK-LISTEN -> TCP`"),
        ("kestrel-tcp", "Kestrel on TCP loopback (minimal API; not vsock)"),
    ];

    private static readonly (string Name, string Description)[] Knobs =
    [
        ("default", "defaults (a fresh server, bare endpoint)"),
        ("spin0", "`DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0`"),
        ("inline", "`UnsafePreferInlineScheduling=true`"),
        ("nowait", "`WaitForDataBeforeAllocatingBuffer=false`"),
        ("ioq0", "`IOQueueCount=0` (I/O completions straight to the thread pool)"),
        ("hyper", "Rust hyper, for reference"),
    ];

    public static void Write(StringBuilder md, JsonElement[] rows, JsonElement[] plain)
    {
        JsonElement[] peers = rows.Where(r => Report.Str(r, "label") == "peers" && r.TryGetProperty("peer", out _)).ToArray();
        JsonElement[] knobs = rows.Where(r => Report.Str(r, "label") == "knobs" && r.TryGetProperty("peer", out _)).ToArray();
        if (peers.Length == 0)
        {
            return;
        }

        md.AppendLine("## Versus other vsock HTTP stacks (issue 12)");
        md.AppendLine();
        md.AppendLine("One neutral load generator, not the project's client (`vsock-load`, Go, raw keep-alive HTTP/1.1 GET /plaintext, one goroutine per connection; `benchmarks/peers`), drives every server in the same rounds, in a rotated order. Requests per second, median of the rounds:");
        md.AppendLine();
        md.AppendLine("| server | 1 | 16 | 64 | p50 / p99 ms at 16 | CPU ms / request at 16 | context switches / request at 16 |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach ((string name, string description) in Servers.Where(s => peers.Any(r => Report.Str(r, "peer") == s.Name)))
        {
            double Of(int level, string property) => Report.Median(peers.Where(r => Report.Str(r, "peer") == name && (int)Report.Num(r, "connections") == level).Select(r => Report.Num(r, property)));
            md.AppendLine(Ci, $"| {description} | {Of(1, "rps"):F0} | {Of(16, "rps"):F0} | {Of(64, "rps"):F0} | {Of(16, "p50ms"):F1} / {Of(16, "p99ms"):F1} | {Of(16, "cpuMsPerRequest"):F2} | {Of(16, "contextSwitchesPerRequest"):F1} |");
        }

        md.AppendLine();
        md.AppendLine("Ratios of the medians, with the lowest and highest per-round ratio in brackets:");
        md.AppendLine();
        md.AppendLine("| ratio | 1 | 16 | 64 |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        foreach ((string a, string b) in new[] { ("kestrel", "go"), ("kestrel", "hyper"), ("kestrel", "socat-bridge"), ("kestrel", "kestrel-tcp"), ("kestrel-bare", "go"), ("kestrel-bare", "hyper") })
        {
            md.AppendLine(Ci, $"| {a} / {b} | {string.Join(" | ", Levels.Select(l => Format(Ratio(peers, a, b, l))))} |");
        }

        md.AppendLine();
        WriteTargets(md, peers, plain);
        if (knobs.Length > 0)
        {
            md.AppendLine("### Knobs, measured side by side");
            md.AppendLine();
            md.AppendLine("The benchmark server once per setting, each a fresh process on its own ports with one setting changed, measured in the same rotated rounds (bare endpoint, vsock). Requests per second, median, and the ratio to the defaults [per-round range]:");
            md.AppendLine();
            md.AppendLine("| setting | 1 | 16 | 64 | CPU ms / request at 16 |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
            foreach ((string name, string description) in Knobs.Where(k => knobs.Any(r => Report.Str(r, "peer") == k.Name)))
            {
                string Cell(int level)
                {
                    double rps = Report.Median(knobs.Where(r => Report.Str(r, "peer") == name && (int)Report.Num(r, "connections") == level).Select(r => Report.Num(r, "rps")));
                    return name == "default" ? rps.ToString("F0", Ci) : string.Create(Ci, $"{rps:F0} ({Format(Ratio(knobs, name, "default", level))})");
                }

                double cpu = Report.Median(knobs.Where(r => Report.Str(r, "peer") == name && (int)Report.Num(r, "connections") == 16).Select(r => Report.Num(r, "cpuMsPerRequest")));
                md.AppendLine(Ci, $"| {description} | {Cell(1)} | {Cell(16)} | {Cell(64)} | {cpu:F2} |");
            }

            md.AppendLine();
        }
    }

    private static void WriteTargets(StringBuilder md, JsonElement[] peers, JsonElement[] plain)
    {
        md.AppendLine("| target (issue 12) | measured | verdict |");
        md.AppendLine("| --- | --- | --- |");
        var go = Levels.Select(l => Ratio(peers, "kestrel", "go", l)).ToArray();
        md.AppendLine(Ci, $"| Kestrel over vsock >= Go net/http at every concurrency | {Measured(go)} | {Verdict(go.All(r => r.Median >= 1), go.All(r => r.High >= 1))} |");
        var hyper = Levels.Select(l => Ratio(peers, "kestrel", "hyper", l)).ToArray();
        bool hyperMet = hyper[0].Median >= 0.75 && hyper.Skip(1).All(r => r.Median >= 0.9);
        md.AppendLine(Ci, $"| >= 0.75x Rust hyper at 1 connection, >= 0.9x at 16 and up | {Measured(hyper)} | {Verdict(hyperMet, hyper[0].High >= 0.75 && hyper.Skip(1).All(r => r.High >= 0.9))} |");
        var bridge = Levels.Select(l => Ratio(peers, "kestrel", "socat-bridge", l)).ToArray();
        md.AppendLine(Ci, $"| >= 2x the socat bridge's rps | {Measured(bridge)} | {Verdict(bridge.All(r => r.Median >= 2), bridge.All(r => r.High >= 2))} |");
        var tcp = Levels.Select(l => Ratio(peers, "kestrel", "kestrel-tcp", l)).ToArray();
        md.AppendLine(Ci, $"| vsock >= 0.95x Kestrel over TCP loopback | {Measured(tcp)} | {Verdict(tcp.All(r => r.Median >= 0.95), tcp.All(r => r.High >= 0.95))} |");

        var allocations = plain.Where(r => Report.Str(r, "http") == "1.1").GroupBy(r => (int)Report.Num(r, "connections")).OrderBy(g => g.Key)
            .Select(g => (Connections: g.Key,
                Vsock: Report.Median(g.Where(r => Report.Str(r, "target").StartsWith("vsock", StringComparison.Ordinal)).Select(r => Report.Num(r, "serverAllocatedPerRequest"))),
                Tcp: Report.Median(g.Where(r => Report.Str(r, "target").StartsWith("tcp", StringComparison.Ordinal)).Select(r => Report.Num(r, "serverAllocatedPerRequest")))))
            .ToArray();
        if (allocations.Length > 0)
        {
            // A few bytes per request are timers and the odd resize, below what one run resolves: within 16 B counts as equal.
            int above = allocations.Count(a => a.Vsock > a.Tcp + 16);
            string list = string.Join(", ", allocations.Select(a => string.Create(Ci, $"{a.Connections}: {a.Vsock:F0} vs {a.Tcp:F0} B")));
            md.AppendLine(Ci, $"| server allocations per request <= TCP's at every concurrency | vsock vs tcp, HTTP/1.1 plaintext: {list} | {(above == 0 ? "met (within 16 B)" : $"not met at {above} of {allocations.Length}")} |");
        }

        var all = go.Concat(hyper).Concat(bridge).Concat(tcp).Where(r => double.IsFinite(r.Median)).ToArray();
        double spread = all.Length == 0 ? double.NaN : all.Max(r => Math.Max(r.High / r.Median - 1, 1 - (r.Low / r.Median)));
        md.AppendLine(Ci, $"| headline ratios' per-round ranges within +-10 % | widest: {Report.Percent(spread)} from its median | {(spread <= 0.10 ? "met" : "not met")} |");
        md.AppendLine();
    }

    private static string Measured((double Median, double Low, double High)[] ratios)
        => string.Join("; ", Levels.Zip(ratios, (l, r) => $"{l}: {Format(r)}"));

    private static string Verdict(bool met, bool withinNoise) => met ? "met" : withinNoise ? "within noise (some round met it at every level)" : "not met";

    private static string Format((double Median, double Low, double High) r)
        => double.IsFinite(r.Median) ? string.Create(Ci, $"{r.Median:F2}x [{r.Low:F2}-{r.High:F2}]") : "-";

    /// <summary>a / b of the medians at one connection count, and the range of the per-round ratios.</summary>
    private static (double Median, double Low, double High) Ratio(JsonElement[] rows, string a, string b, int connections)
    {
        JsonElement[] level = rows.Where(r => (int)Report.Num(r, "connections") == connections).ToArray();
        double Of(string peer) => Report.Median(level.Where(r => Report.Str(r, "peer") == peer).Select(r => Report.Num(r, "rps")));
        double[] perRound = level.GroupBy(r => Report.Num(r, "round"))
            .Select(g => (A: g.FirstOrDefault(r => Report.Str(r, "peer") == a), B: g.FirstOrDefault(r => Report.Str(r, "peer") == b)))
            .Where(p => p.A.ValueKind == JsonValueKind.Object && p.B.ValueKind == JsonValueKind.Object && Report.Num(p.B, "rps") > 0)
            .Select(p => Report.Num(p.A, "rps") / Report.Num(p.B, "rps")).ToArray();
        return (Of(a) / Of(b), perRound.DefaultIfEmpty(double.NaN).Min(), perRound.DefaultIfEmpty(double.NaN).Max());
    }
}

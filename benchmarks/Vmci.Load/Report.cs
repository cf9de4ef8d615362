using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

/// <summary>Turns the suite's JSON lines into benchmarks/results/RESULTS.md and a scaling plot (SVG).</summary>
internal static class Report
{
    private static readonly string[] TransportOrder = ["vsock", "tcp", "unix"];

    public static void Write(string[] lines, string outputDirectory)
    {
        JsonElement[] rows = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        var md = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        JsonElement? meta = rows.FirstOrDefault(r => r.TryGetProperty("machine", out _));
        md.AppendLine("# Benchmark results");
        md.AppendLine();
        if (meta is { } m)
        {
            md.AppendLine(ci, $"Run {m.GetProperty("date").GetString()} on {m.GetProperty("machine").GetString()}. All numbers come from one run; compare ratios, not absolutes (the sandbox VM runs under TCG emulation, 50-100x slower than hardware).");
            md.AppendLine();
        }

        // Raw ceiling.
        JsonElement[] raw = rows.Where(r => r.TryGetProperty("raw", out _)).ToArray();
        double? rawVsock = raw.Where(r => r.GetProperty("raw").GetString() == "vsock").Select(r => (double?)r.GetProperty("mibPerSecond").GetDouble()).FirstOrDefault();
        if (raw.Length > 0)
        {
            md.AppendLine("## Raw ceiling: socat, one stream");
            md.AppendLine();
            md.AppendLine("| transport | MiB/s | vs vsock |");
            md.AppendLine("| --- | ---: | ---: |");
            foreach (JsonElement r in raw.OrderBy(r => Array.IndexOf(TransportOrder, r.GetProperty("raw").GetString())))
            {
                double v = r.GetProperty("mibPerSecond").GetDouble();
                md.AppendLine(ci, $"| {r.GetProperty("raw").GetString()} | {v:F1} | {Ratio(v, rawVsock)} |");
            }

            md.AppendLine();
        }

        JsonElement[] load = rows.Where(r => r.TryGetProperty("rps", out _)).ToArray();
        string TransportOf(JsonElement r) => r.GetProperty("target").GetString()!.Split(':')[0];

        // Bulk throughput.
        JsonElement[] bulk = load.Where(r => r.GetProperty("path").GetString()!.StartsWith("/bytes/", StringComparison.Ordinal) || r.GetProperty("path").GetString() == "/upload").ToArray();
        if (bulk.Length > 0)
        {
            md.AppendLine("## HTTP throughput (HTTP/1.1, one connection)");
            md.AppendLine();
            md.AppendLine("| transfer | vsock MiB/s | tcp MiB/s | unix MiB/s | vsock / tcp | vsock / raw vsock |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in bulk.GroupBy(r => r.GetProperty("label").GetString()))
            {
                double Get(string t) => group.Where(r => TransportOf(r) == t).Select(r => r.GetProperty("mibPerSecond").GetDouble()).FirstOrDefault();
                md.AppendLine(ci, $"| {group.Key} | {Get("vsock"):F1} | {Get("tcp"):F1} | {Get("unix"):F1} | {Ratio(Get("vsock"), Get("tcp"))} | {Ratio(Get("vsock"), rawVsock)} |");
            }

            md.AppendLine();
        }

        // Requests per second and latency.
        JsonElement[] plain = load.Where(r => r.GetProperty("path").GetString() == "/plaintext" && !r.GetProperty("newConnection").GetBoolean() && r.TryGetProperty("label", out JsonElement l) && l.GetString() == "rps").ToArray();
        if (plain.Length > 0)
        {
            md.AppendLine("## Requests per second and latency (plaintext, keep-alive)");
            md.AppendLine();
            md.AppendLine("| HTTP | connections | vsock rps | tcp rps | unix rps | vsock / tcp | vsock p50 / p99 ms | tcp p50 / p99 ms | unix p50 / p99 ms |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in plain.GroupBy(r => (Http: r.GetProperty("http").GetString(), Connections: r.GetProperty("connections").GetInt32())).OrderBy(g => g.Key.Http).ThenBy(g => g.Key.Connections))
            {
                JsonElement? Of(string t) => group.Where(r => TransportOf(r) == t).Select(r => (JsonElement?)r).FirstOrDefault();
                string Rps(string t) => Of(t) is { } r ? r.GetProperty("rps").GetDouble().ToString("F0", ci) : "-";
                string Lat(string t) => Of(t) is { } r ? string.Create(ci, $"{r.GetProperty("p50ms").GetDouble():F1} / {r.GetProperty("p99ms").GetDouble():F1}") : "-";
                double? V(string t) => Of(t)?.GetProperty("rps").GetDouble();
                md.AppendLine(ci, $"| {group.Key.Http} | {group.Key.Connections} | {Rps("vsock")} | {Rps("tcp")} | {Rps("unix")} | {Ratio(V("vsock"), V("tcp"))} | {Lat("vsock")} | {Lat("tcp")} | {Lat("unix")} |");
            }

            md.AppendLine();
            md.AppendLine("Server allocations per request (whole server: Kestrel, routing and the transport), plaintext over HTTP/1.1:");
            md.AppendLine();
            md.AppendLine("| connections | vsock bytes | tcp bytes | unix bytes |");
            md.AppendLine("| ---: | ---: | ---: | ---: |");
            foreach (var group in plain.Where(r => r.GetProperty("http").GetString() == "1.1").GroupBy(r => r.GetProperty("connections").GetInt32()).OrderBy(g => g.Key))
            {
                string A(string t) => group.Where(r => TransportOf(r) == t).Select(r => r.GetProperty("serverAllocatedPerRequest").GetInt64().ToString(ci)).FirstOrDefault() ?? "-";
                md.AppendLine(ci, $"| {group.Key} | {A("vsock")} | {A("tcp")} | {A("unix")} |");
            }

            md.AppendLine();
        }

        JsonElement[] fresh = load.Where(r => r.GetProperty("newConnection").GetBoolean()).ToArray();
        if (fresh.Length > 0)
        {
            md.AppendLine("## Connection setup (a new connection per request, HTTP/1.1)");
            md.AppendLine();
            md.AppendLine("| transport | connections/s | p50 / p99 ms |");
            md.AppendLine("| --- | ---: | ---: |");
            foreach (JsonElement r in fresh.OrderBy(r => Array.IndexOf(TransportOrder, TransportOf(r))))
            {
                md.AppendLine(ci, $"| {TransportOf(r)} | {r.GetProperty("rps").GetDouble():F0} | {r.GetProperty("p50ms").GetDouble():F1} / {r.GetProperty("p99ms").GetDouble():F1} |");
            }

            md.AppendLine();
        }

        JsonElement[] idle = rows.Where(r => r.TryGetProperty("idle", out _)).ToArray();
        if (idle.Length > 0)
        {
            md.AppendLine("## Idle connections: server memory per connection");
            md.AppendLine();
            md.AppendLine("| transport | idle connections | working set per connection | managed heap per connection |");
            md.AppendLine("| --- | ---: | ---: | ---: |");
            foreach (JsonElement r in idle.OrderBy(r => Array.IndexOf(TransportOrder, TransportOf(r))))
            {
                md.AppendLine(ci, $"| {TransportOf(r)} | {r.GetProperty("idle").GetInt32()} | {r.GetProperty("workingSetPerConnection").GetInt64()} B | {r.GetProperty("managedPerConnection").GetInt64()} B |");
            }

            md.AppendLine();
        }

        JsonElement[] scaling = load.Where(r => r.TryGetProperty("label", out JsonElement l) && l.GetString() == "scaling").ToArray();
        if (scaling.Length > 0)
        {
            md.AppendLine("## How cost grows with connections (plaintext, HTTP/1.1)");
            md.AppendLine();
            md.AppendLine("![requests per second against connections](scaling.svg)");
            md.AppendLine();
            md.AppendLine("| connections | vsock rps | tcp rps | vsock / tcp | vsock p99 ms | tcp p99 ms |");
            md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var group in scaling.GroupBy(r => r.GetProperty("connections").GetInt32()).OrderBy(g => g.Key))
            {
                JsonElement? Of(string t) => group.Where(r => TransportOf(r) == t).Select(r => (JsonElement?)r).FirstOrDefault();
                double? V(string t, string p) => Of(t)?.GetProperty(p).GetDouble();
                md.AppendLine(ci, $"| {group.Key} | {V("vsock", "rps"):F0} | {V("tcp", "rps"):F0} | {Ratio(V("vsock", "rps"), V("tcp", "rps"))} | {V("vsock", "p99ms"):F1} | {V("tcp", "p99ms"):F1} |");
            }

            md.AppendLine();
            File.WriteAllText(Path.Combine(outputDirectory, "scaling.svg"), Plot(scaling, TransportOf));
        }

        File.WriteAllText(Path.Combine(outputDirectory, "RESULTS.md"), md.ToString());
    }

    private static string Ratio(double? a, double? b)
        => a is > 0 && b is > 0 ? (a.Value / b.Value).ToString("P0", CultureInfo.InvariantCulture) : "-";

    /// <summary>Requests per second against connections (log scale), one line per transport.</summary>
    private static string Plot(JsonElement[] rows, Func<JsonElement, string> transportOf)
    {
        const int Width = 640, Height = 360, Left = 70, Bottom = 40, Top = 20, Right = 110;
        var ci = CultureInfo.InvariantCulture;
        int[] xs = rows.Select(r => r.GetProperty("connections").GetInt32()).Distinct().Order().ToArray();
        double maxRps = rows.Max(r => r.GetProperty("rps").GetDouble()) * 1.1;
        double X(int c) => Left + (Width - Left - Right) * (xs.Length == 1 ? 0 : Math.Log(c / (double)xs[0]) / Math.Log(xs[^1] / (double)xs[0]));
        double Y(double rps) => Height - Bottom - (Height - Bottom - Top) * rps / maxRps;
        var svg = new StringBuilder();
        svg.AppendLine(ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine(ci, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine(ci, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>");
        foreach (int c in xs)
        {
            svg.AppendLine(ci, $"<text x=\"{X(c):F0}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{c}</text>");
        }

        for (int i = 0; i <= 4; i++)
        {
            double v = maxRps * i / 4;
            svg.AppendLine(ci, $"<text x=\"{Left - 6}\" y=\"{Y(v) + 4:F0}\" text-anchor=\"end\">{v:F0}</text>");
        }

        svg.AppendLine(ci, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 6}\" text-anchor=\"middle\">connections (log scale)</text>");
        svg.AppendLine(ci, $"<text x=\"14\" y=\"{(Height - Bottom) / 2}\" transform=\"rotate(-90 14 {(Height - Bottom) / 2})\" text-anchor=\"middle\">requests per second</text>");
        string[] colors = ["#3867d6", "#eb3b5a", "#20bf6b"];
        int k = 0;
        foreach (var line in rows.GroupBy(transportOf).OrderBy(g => Array.IndexOf(TransportOrder, g.Key)))
        {
            string points = string.Join(' ', line.OrderBy(r => r.GetProperty("connections").GetInt32()).Select(r => string.Create(ci, $"{X(r.GetProperty("connections").GetInt32()):F1},{Y(r.GetProperty("rps").GetDouble()):F1}")));
            svg.AppendLine(ci, $"<polyline fill=\"none\" stroke=\"{colors[k % 3]}\" stroke-width=\"2\" points=\"{points}\"/>");
            svg.AppendLine(ci, $"<text x=\"{Width - Right + 10}\" y=\"{Top + 16 + 18 * k}\" fill=\"{colors[k % 3]}\">{line.Key}</text>");
            k++;
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}

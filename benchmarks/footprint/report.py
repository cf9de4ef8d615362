#!/usr/bin/python3
"""RESULTS.md for the footprint run: medians and ranges over the rounds, sizes, and the issue's targets as ratios."""
import json
import statistics
import sys

LABELS = {
    "jit": "dashboard, JIT (framework-dependent)",
    "r2r": "dashboard, ReadyToRun (framework-dependent)",
    "r2r-nopgo": "dashboard, ReadyToRun, DOTNET_TieredPGO=0",
    "aot": "dashboard, Native AOT",
    "aot-nolog": "dashboard, Native AOT, logging off (Logging__LogLevel__Default=None)",
    "aot-gcnonconcurrent": "dashboard, Native AOT, DOTNET_gcConcurrent=0",
    "aot-gen0-1mib": "dashboard, Native AOT, DOTNET_GCgen0size=0x100000 (1 MiB)",
    "aot-conserve": "dashboard, Native AOT, DOTNET_GCConserveMemory=9",
    "aot-noreload": "dashboard, Native AOT, no config file watching (DOTNET_hostBuilder__reloadConfigOnChange=false)",
    "go": "Go net/http + mdlayher/vsock",
    "rust": "Rust hyper + tokio-vsock",
}

rows = [json.loads(line) for line in open(sys.argv[1])]
sizes = json.load(open(sys.argv[2]))
servers = [s for s in LABELS if any(r["server"] == s for r in rows)]
first = {s: [r["first_response_s"] for r in rows if r["server"] == s] for s in servers}
rss = {s: [r["rss_kib"] / 1024 for r in rows if r["server"] == s] for s in servers}
med = lambda xs: statistics.median(xs)
mib = lambda b: b / 1024 / 1024

print("# Footprint: exec to first response over vsock, RSS, size\n")
print(f"{len(first[servers[0]])} rounds in a rotated order (reversed every other round) after an untimed one, a fresh process per start, in the sandbox VM")
print("(TCG, 2 vCPUs): read ratios, not absolutes. First response = from exec to the first complete GET /healthz")
print("over vsock (a Python client polling every 5 ms); RSS = VmRSS after 20 more requests.\n")
go = "go" in servers
print("| server | first response, median (range) | RSS, median (range) | to copy into the guest |" + (" first response / Go | RSS / Go |" if go else ""))
print("| --- | --- | --- | --- |" + (" --- | --- |" if go else ""))
for s in servers:
    size = f"{mib(sizes[s.split('-')[0]]):.1f} MiB"
    if s.startswith(("jit", "r2r")):
        size += f" + the shared runtime ({mib(sizes['shared_runtime']):.0f} MiB)"
    print(f"| {LABELS[s]} | {med(first[s]):.3f} s ({min(first[s]):.3f}-{max(first[s]):.3f}) "
          f"| {med(rss[s]):.1f} MiB ({min(rss[s]):.1f}-{max(rss[s]):.1f}) | {size} |"
          + (f" {med(first[s]) / med(first['go']):.1f}x | {med(rss[s]) / med(rss['go']):.1f}x |" if go else ""))

print("\n| target | measured | verdict |\n| --- | --- | --- |")
if "go" in servers and "aot" in servers:
    r = med(first["aot"]) / med(first["go"])
    print(f"| AOT first response <= 2x Go's | {r:.2f}x | {'met' if r <= 2 else 'not met'} |")
    r = med(rss["aot"]) / med(rss["go"])
    print(f"| AOT RSS <= 3x Go's | {r:.2f}x | {'met' if r <= 3 else 'not met'} |")
else:
    print("| AOT against Go | the Go peer was not there (benchmarks/peers/build) | not measured |")
if "jit" in servers and "r2r" in servers:
    gain = 1 - med(first["r2r"]) / med(first["jit"])
    print(f"| R2R first response >= 30 % faster than JIT | {gain * 100:.0f} % faster | {'met' if gain >= 0.30 else 'not met'} |")

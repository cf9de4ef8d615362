using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel;
using Vmci.Native;

// Vmci.Load --target vsock://1:5000 | tcp://127.0.0.1:5100 | unix:/tmp/vmci-bench-h1.sock
//           [--path /plaintext] [--connections 16] [--duration 10] [--warmup 3] [--http2]
//           [--new-connection] [--upload BYTES] [--label TEXT] [--idle N]
//        Vmci.Load report RESULTS.jsonl OUTPUT-DIRECTORY
// Prints one JSON line: requests per second, latency percentiles, bytes per second, errors.
if (args is ["report", var input, var outputDirectory])
{
    Report.Write(File.ReadAllLines(input), outputDirectory);
    return 0;
}

var options = LoadOptions.Parse(args);
if (options.Idle > 0)
{
    return await IdleConnections.MeasureAsync(options);
}

using HttpMessageInvoker invoker = new(Transports.CreateHandler(options.Target, options.Connections));
byte[]? upload = options.UploadBytes > 0 ? new byte[options.UploadBytes] : null;
Version version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
var uri = new Uri($"http://bench{options.Path}");

// Warm up (JIT, connection pool), then measure. The server's allocations come from its /gc endpoint,
// read over a connection of its own before and after.
await RunAsync(TimeSpan.FromSeconds(options.WarmupSeconds), record: false);
using var control = new HttpClient(Transports.CreateHandler(options.Target, 1))
{
    BaseAddress = new Uri("http://bench/"),
    DefaultRequestVersion = version,
    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
};
long serverBefore = await ServerAllocatedAsync(control);
GC.Collect();
long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
(long count, long errors, long bytes, long[] latencies, double seconds) = await RunAsync(TimeSpan.FromSeconds(options.DurationSeconds), record: true);
long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
long serverAllocated = await ServerAllocatedAsync(control) - serverBefore;

Array.Sort(latencies);
double Percentile(double p) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))] * 1000.0 / Stopwatch.Frequency;
Console.WriteLine(JsonSerializer.Serialize(new
{
    label = options.Label,
    target = options.Target,
    path = options.Path,
    http = options.Http2 ? "2" : "1.1",
    connections = options.Connections,
    newConnection = options.NewConnection,
    requests = count,
    errors,
    rps = Math.Round(count / seconds, 1),
    p50ms = Math.Round(Percentile(0.50), 3),
    p99ms = Math.Round(Percentile(0.99), 3),
    mibPerSecond = Math.Round(bytes / seconds / (1 << 20), 2),
    clientAllocatedPerRequest = count == 0 ? 0 : allocated / count,
    serverAllocatedPerRequest = count == 0 ? 0 : serverAllocated / count,
}));
return errors == 0 ? 0 : 1;

static async Task<long> ServerAllocatedAsync(HttpClient control)
    => JsonDocument.Parse(await control.GetStringAsync("/gc")).RootElement.GetProperty("allocated").GetInt64();

async Task<(long Count, long Errors, long Bytes, long[] Latencies, double Seconds)> RunAsync(TimeSpan duration, bool record)
{
    long count = 0, errors = 0, bytes = 0;
    var perWorker = new System.Collections.Generic.List<long>[options.Connections];
    var stopwatch = Stopwatch.StartNew();
    long end = (long)(duration.TotalSeconds * Stopwatch.Frequency);
    Task[] workers = Enumerable.Range(0, options.Connections).Select(i => Task.Run(async () =>
    {
        var latencies = perWorker[i] = new System.Collections.Generic.List<long>(100_000);
        byte[] buffer = new byte[64 * 1024];
        while (stopwatch.ElapsedTicks < end)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                using var request = new HttpRequestMessage(upload is null ? HttpMethod.Get : HttpMethod.Post, uri)
                {
                    Version = version,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    Content = upload is null ? null : new ByteArrayContent(upload),
                };
                if (options.NewConnection)
                {
                    request.Headers.ConnectionClose = true;
                }

                using HttpResponseMessage response = await invoker.SendAsync(request, CancellationToken.None);
                await using Stream body = await response.Content.ReadAsStreamAsync();
                long received = 0;
                int n;
                while ((n = await body.ReadAsync(buffer)) > 0)
                {
                    received += n;
                }

                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                Interlocked.Add(ref bytes, received + (upload?.Length ?? 0));
                Interlocked.Increment(ref count);
                if (record)
                {
                    latencies.Add(Stopwatch.GetTimestamp() - start);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
            {
                Interlocked.Increment(ref errors);
            }
        }
    })).ToArray();
    await Task.WhenAll(workers);
    double seconds = stopwatch.Elapsed.TotalSeconds;
    return (count, errors, bytes, perWorker.SelectMany(l => l).ToArray(), seconds);
}

internal sealed record LoadOptions(string Target, string Path, int Connections, double DurationSeconds, double WarmupSeconds, bool Http2, bool NewConnection, int UploadBytes, int Idle, string Label)
{
    public static LoadOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        return new LoadOptions(
            Value("--target", "vsock://1:5000"),
            Value("--path", "/plaintext"),
            int.Parse(Value("--connections", "16"), CultureInfo.InvariantCulture),
            double.Parse(Value("--duration", "10"), CultureInfo.InvariantCulture),
            double.Parse(Value("--warmup", "3"), CultureInfo.InvariantCulture),
            args.Contains("--http2"),
            args.Contains("--new-connection"),
            int.Parse(Value("--upload", "0"), CultureInfo.InvariantCulture),
            int.Parse(Value("--idle", "0"), CultureInfo.InvariantCulture),
            Value("--label", ""));
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

/// <summary>One measurement: a target under load from N workers, each with a connection of its own.</summary>
internal sealed class LoadRun
{
    private readonly LoadOptions _options;
    private readonly string _target;
    private readonly Uri _uri;
    private readonly Version _version;
    private readonly byte[]? _upload;
    private long _count, _errors, _bytes;
    private string? _firstError;

    public LoadRun(LoadOptions options, string target)
    {
        _options = options;
        _target = target;
        _uri = new Uri($"http://bench{options.Path}");
        _version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        _upload = options.UploadBytes > 0 ? new byte[options.UploadBytes] : null;
    }

    /// <summary>Opens the connections, warms up, measures, and returns the JSON line's fields.</summary>
    public async Task<Dictionary<string, object?>> MeasureAsync(int round)
    {
        // One handler per worker, so that N workers hold N connections on HTTP/2 as on HTTP/1.1
        // (one shared HTTP/2 handler would multiplex them all over a single connection).
        HttpMessageInvoker[] invokers = Enumerable.Range(0, _options.Connections)
            .Select(_ => new HttpMessageInvoker(Transports.CreateHandler(_target, 1)))
            .ToArray();
        using HttpClient control = ServerProbe.CreateClient(_target, _version);
        try
        {
            // Every connection is open before the clock starts, so that a run with 1,000 connections measures
            // requests rather than connection setup.
            byte[] scratch = new byte[64 * 1024];
            await Task.WhenAll(invokers.Select(invoker => SendAsync(invoker, scratch)));
            await RunAsync(invokers, TimeSpan.FromSeconds(_options.WarmupSeconds), latencies: null);
            Reset();

            JsonElement serverBefore = await ServerProbe.ReadAsync(control);
            GC.Collect();
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var latencies = new List<long>[_options.Connections];
            MachineCounters countersBefore = MachineCounters.Read();
            double seconds = await RunAsync(invokers, TimeSpan.FromSeconds(_options.DurationSeconds), latencies);
            MachineCounters counters = MachineCounters.Read() - countersBefore;
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            // Read while the connections are still open: the server's memory at this connection count.
            JsonElement serverAfter = await ServerProbe.ReadAsync(control);
            long serverAllocated = serverAfter.GetProperty("allocated").GetInt64() - serverBefore.GetProperty("allocated").GetInt64();

            long[] sorted = latencies.SelectMany(l => l).Order().ToArray();
            double Percentile(double p) => sorted.Length == 0 ? double.NaN
                : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))] * 1000.0 / Stopwatch.Frequency, 3);
            return new Dictionary<string, object?>
            {
                ["label"] = _options.Label,
                ["target"] = _target,
                ["path"] = _options.Path,
                ["http"] = _options.Http2 ? "2" : "1.1",
                ["connections"] = _options.Connections,
                ["newConnection"] = _options.NewConnection,
                ["round"] = round,
                ["requests"] = _count,
                ["errors"] = _errors,
                ["firstError"] = _firstError,
                ["rps"] = Math.Round(_count / seconds, 1),
                ["p50ms"] = Percentile(0.50),
                ["p99ms"] = Percentile(0.99),
                ["mibPerSecond"] = Math.Round(_bytes / seconds / (1 << 20), 2),
                ["clientAllocatedPerRequest"] = _count == 0 ? 0 : allocated / _count,
                ["serverAllocatedPerRequest"] = _count == 0 ? 0 : serverAllocated / _count,
                // Machine-wide (client, server and kernel workers share the VM): what a request costs in CPU time
                // and in context switches, the currency in which the kernel's transports differ.
                ["cpuMsPerRequest"] = _count == 0 ? 0 : Math.Round(counters.BusyMilliseconds / _count, 3),
                ["contextSwitchesPerRequest"] = _count == 0 ? 0 : Math.Round(counters.ContextSwitches / (double)_count, 2),
                ["serverManagedBytes"] = serverAfter.GetProperty("managed").GetInt64(),
                ["serverWorkingSetBytes"] = serverAfter.GetProperty("workingSet").GetInt64(),
            };
        }
        finally
        {
            foreach (HttpMessageInvoker invoker in invokers)
            {
                invoker.Dispose();
            }
        }
    }

    private void Reset() => (_count, _errors, _bytes, _firstError) = (0, 0, 0, null);

    private async Task<double> RunAsync(HttpMessageInvoker[] invokers, TimeSpan duration, List<long>[]? latencies)
    {
        var stopwatch = Stopwatch.StartNew();
        long end = (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(invokers.Select((invoker, i) => Task.Run(async () =>
        {
            List<long>? mine = latencies is null ? null : latencies[i] = new List<long>(16_384);
            byte[] buffer = new byte[64 * 1024];
            while (stopwatch.ElapsedTicks < end)
            {
                long start = Stopwatch.GetTimestamp();
                if (await SendAsync(invoker, buffer))
                {
                    mine?.Add(Stopwatch.GetTimestamp() - start);
                }
            }
        })));
        return stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>One request, its response read to the end; counts it as done or failed.</summary>
    private async Task<bool> SendAsync(HttpMessageInvoker invoker, byte[] buffer)
    {
        try
        {
            using var request = new HttpRequestMessage(_upload is null ? HttpMethod.Get : HttpMethod.Post, _uri)
            {
                Version = _version,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = _upload is null ? null : new ByteArrayContent(_upload),
            };
            if (_options.NewConnection)
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
                Fail($"HTTP {(int)response.StatusCode}");
                return false;
            }

            Interlocked.Add(ref _bytes, received + (_upload?.Length ?? 0));
            Interlocked.Increment(ref _count);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            Fail(ex.Message);
            return false;
        }
    }

    private void Fail(string error)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, error, null);
    }
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary><c>vmci get vsock://CID:PORT/path</c> (or <c>hvsock:///SOCKET:PORT/path</c>): curl for vsock.</summary>
internal static class GetCommand
{
    private const int ProgressThreshold = 1 << 20;

    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "vsock://CID:PORT/path, for example vsock://3:8080/api/status; or hvsock:///SOCKET:PORT/path for a Firecracker or Cloud Hypervisor guest, through its vsock Unix socket" };
        var method = new Option<string?>("--request", "-X") { Description = "The method (default GET, or POST with --data)" };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value' (repeatable)", AllowMultipleArgumentsPerToken = false };
        var data = new Option<string?>("--data", "-d") { Description = "The request body: text, @FILE, or @- for standard input" };
        var http2 = new Option<bool>("--http2") { Description = "Use HTTP/2 with prior knowledge (h2c), for endpoints that speak only HTTP/2" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the connection and the request and response headers on standard error" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the body to FILE instead of standard output (with a progress bar on a terminal)" };
        var progress = new Option<bool>("--progress") { Description = "Show the progress bar with --output even when standard error is not a terminal" };
        var timeout = new Option<double>("--connect-timeout") { Description = "Seconds to wait for the connection (vsock's own default is 2; hvsock retries until then)", DefaultValueFactory = _ => 2 };
        var retry = new Option<double?>("--connect-retry") { Description = "Keep trying to connect for up to SECONDS while nothing listens yet (a guest still booting), with growing pauses" };
        var toHost = new Option<bool>("--to-host") { Description = "Send the connection to the host for forwarding (VMADDR_FLAG_TO_HOST), as vsock://CID:PORT?to-host does" };
        var command = new Command("get", "Send an HTTP request over vsock and print the response body, like curl.")
        {
            url, method, headers, data, http2, verbose, output, progress, timeout, retry, toHost,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            new GetRequest(result.GetValue(url)!, result.GetValue(method), result.GetValue(headers) ?? [], result.GetValue(data), result.GetValue(http2),
                result.GetValue(verbose), result.GetValue(output), result.GetValue(progress), TimeSpan.FromSeconds(result.GetValue(timeout)),
                result.GetValue(retry) is double seconds ? TimeSpan.FromSeconds(seconds) : null, result.GetValue(toHost)),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GetRequest options, CancellationToken cancellationToken)
    {
        if (!TryResolveTarget(options, out VsockUrl? url, out EndPoint? target))
        {
            return ExitCodes.Usage;
        }

        using var client = new HttpClient(VmciHttp.CreateHandler(target, new VmciConnectionFactoryOptions { ConnectTimeout = options.ConnectTimeout, ConnectRetryTimeout = options.ConnectRetry }))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        using HttpRequestMessage request = CreateRequest(options, url, target);
        if (await AddBodyAndHeadersAsync(request, options, cancellationToken) is int badRequest)
        {
            return badRequest;
        }

        if (options.Verbose)
        {
            WriteRequest(request, target, url);
        }

        (HttpResponseMessage? response, int exitCode) = await SendAsync(client, request, target, url, cancellationToken);
        if (response is null)
        {
            return exitCode;
        }

        using (response)
        {
            return await ReceiveAsync(response, options, target, url, cancellationToken);
        }
    }

    /// <summary>The URL and the endpoint it names (with --to-host applied); false after saying what is wrong.</summary>
    private static bool TryResolveTarget(GetRequest options, [NotNullWhen(true)] out VsockUrl? url, [NotNullWhen(true)] out EndPoint? target)
    {
        target = null;
        if (!VsockUrl.TryParse(options.Url, out url, out string? error))
        {
            Console.Error.WriteLine($"vmci get: {error}");
            return false;
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            Console.Error.WriteLine("vmci get: --connect-timeout must be above 0 seconds");
            return false;
        }

        if (options.ConnectRetry <= TimeSpan.Zero)
        {
            Console.Error.WriteLine("vmci get: --connect-retry must be above 0 seconds");
            return false;
        }

        target = url.EndPoint;
        if (options.ToHost)
        {
            if (target is not VmciEndPoint vsock)
            {
                Console.Error.WriteLine("vmci get: --to-host is a flag of vsock:// endpoints; an hvsock:// one goes through the VM's socket on this host");
                return false;
            }

            target = new VmciEndPoint(vsock.Cid, vsock.Port, vsock.Flags | VmciEndPointFlags.ToHost);
        }

        return true;
    }

    private static HttpRequestMessage CreateRequest(GetRequest options, VsockUrl url, EndPoint target)
    {
        // The Host header carries the port only where a URL can (up to 65535). A hybrid guest has no CID here.
        (string hostName, uint port) = target is VmciEndPoint cid ? (VmciHttp.CidHostName(cid), cid.Port) : ("localhost", ((HybridVsockEndPoint)target).Port);
        var request = new HttpRequestMessage(new HttpMethod(options.Method ?? (options.Data is null ? "GET" : "POST")), new Uri($"http://{hostName}{url.PathAndQuery}"))
        {
            Version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Host = port <= ushort.MaxValue ? $"{hostName}:{port}" : hostName;
        return request;
    }

    /// <summary>-d and -H; null, or the usage exit code after saying what is wrong.</summary>
    private static async Task<int?> AddBodyAndHeadersAsync(HttpRequestMessage request, GetRequest options, CancellationToken cancellationToken)
    {
        try
        {
            if (options.Data is { } data)
            {
                request.Content = new ByteArrayContent(await ReadDataAsync(data, cancellationToken));
            }
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"vmci get: cannot read the request body: {ex.Message}");
            return ExitCodes.Usage;
        }

        foreach (string header in options.Headers)
        {
            int colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                Console.Error.WriteLine($"vmci get: the header '{header}' is not 'Name: value'");
                return ExitCodes.Usage;
            }

            string name = header[..colon].Trim(), value = header[(colon + 1)..].Trim();
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return null;
    }

    private static void WriteRequest(HttpRequestMessage request, EndPoint target, VsockUrl url)
    {
        Console.Error.WriteLine($"* connecting to {target} over {(target is HybridVsockEndPoint ? "hybrid vsock" : "vsock")}");
        Console.Error.WriteLine($"> {request.Method} {url.PathAndQuery} HTTP/{request.Version}");
        WriteHeaders('>', request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()));
    }

    private static void WriteHeaders(char direction, IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers)
    {
        foreach (var (name, values) in headers)
        {
            Console.Error.WriteLine($"{direction} {name}: {string.Join(", ", values)}");
        }
    }

    /// <summary>The response (headers read), or null and the exit code that says why there is none.</summary>
    private static async Task<(HttpResponseMessage? Response, int ExitCode)> SendAsync(HttpClient client, HttpRequestMessage request, EndPoint target, VsockUrl url, CancellationToken cancellationToken)
    {
        try
        {
            return (await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), ExitCodes.Success);
        }
        catch (HttpRequestException ex) when (ex.InnerException is VmciSocketException or HybridVsockException)
        {
            var failure = (SocketException)ex.InnerException;
            bool timedOut = failure.SocketErrorCode == SocketError.TimedOut;
            // The library's message names its API; a user of the tool needs the flag.
            Console.Error.WriteLine(timedOut
                ? $"vmci get: cannot connect: {failure.Message} To wait longer: --connect-timeout SECONDS."
                : $"vmci get: cannot connect: {failure.Message}");
            return (null, timedOut ? ExitCodes.TimedOut : ExitCodes.CouldNotConnect);
        }
        catch (HttpRequestException ex) when (ex.InnerException is TimeoutException waited)
        {
            // --connect-retry ran out: the message names the endpoint, the time waited and the last error.
            Console.Error.WriteLine($"vmci get: cannot connect: {waited.Message}");
            return (null, ExitCodes.TimedOut);
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"vmci get: the request to {target}{url.PathAndQuery} failed: {Describe(ex)}");
            return (null, ExitCodes.Failure);
        }
    }

    /// <summary>Writes the body where it goes (and the headers with -v); the exit code says how it went.</summary>
    private static async Task<int> ReceiveAsync(HttpResponseMessage response, GetRequest options, EndPoint target, VsockUrl url, CancellationToken cancellationToken)
    {
        if (options.Verbose)
        {
            Console.Error.WriteLine($"< HTTP/{response.Version} {(int)response.StatusCode} {response.ReasonPhrase}");
            WriteHeaders('<', response.Headers.Concat(response.Content.Headers));
        }

        try
        {
            await CopyBodyAsync(response, options, cancellationToken);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"vmci get: the response from {target} broke off: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"vmci get: cannot write {options.Output?.FullName}: {ex.Message}");
            return ExitCodes.WriteError;
        }

        if ((int)response.StatusCode >= 400)
        {
            Console.Error.WriteLine($"vmci get: {target}{url.PathAndQuery} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return ExitCodes.HttpError;
        }

        return ExitCodes.Success;
    }

    private static async Task CopyBodyAsync(HttpResponseMessage response, GetRequest options, CancellationToken cancellationToken)
    {
        await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using Stream destination = options.Output is { } file ? file.Create() : Console.OpenStandardOutput();
        long? total = response.Content.Headers.ContentLength;
        bool showProgress = options.Output is not null && (options.Progress || !Console.IsErrorRedirected) && (total is null or >= ProgressThreshold);
        var progress = showProgress ? new ProgressBar(total) : null;
        byte[] buffer = new byte[81920];
        long copied = 0;
        int n;
        while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            copied += n;
            progress?.Report(copied);
        }

        progress?.Complete(copied);
        if (total is { } expected && copied != expected)
        {
            throw new IOException($"got {copied} of {expected} bytes");
        }
    }

    private static async Task<byte[]> ReadDataAsync(string data, CancellationToken cancellationToken)
    {
        if (data == "@-")
        {
            using var stdin = new MemoryStream();
            await Console.OpenStandardInput().CopyToAsync(stdin, cancellationToken);
            return stdin.ToArray();
        }

        return data.StartsWith('@') ? await File.ReadAllBytesAsync(data[1..], cancellationToken) : System.Text.Encoding.UTF8.GetBytes(data);
    }

    private static string Describe(Exception ex) => ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message;

    private sealed record GetRequest(string Url, string? Method, string[] Headers, string? Data, bool Http2, bool Verbose, FileInfo? Output, bool Progress, TimeSpan ConnectTimeout, TimeSpan? ConnectRetry, bool ToHost);

    /// <summary>A one-line progress bar on standard error: percentage, bytes, rate.</summary>
    private sealed class ProgressBar(long? total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastDraw = -1;

        public void Report(long copied)
        {
            long now = _clock.ElapsedMilliseconds;
            if (now - _lastDraw < 200)
            {
                return;
            }

            _lastDraw = now;
            Draw(copied);
        }

        public void Complete(long copied)
        {
            Draw(copied);
            Console.Error.WriteLine();
        }

        private void Draw(long copied)
        {
            const int Width = 30;
            double rate = copied / Math.Max(_clock.Elapsed.TotalSeconds, 0.001) / (1 << 20);
            string line = total is > 0
                ? string.Create(CultureInfo.InvariantCulture, $"[{new string('#', (int)(Width * copied / total.Value)).PadRight(Width)}] {100.0 * copied / total.Value,5:F1}% {copied / 1048576.0:F1}/{total.Value / 1048576.0:F1} MiB {rate:F1} MiB/s")
                : string.Create(CultureInfo.InvariantCulture, $"{copied / 1048576.0:F1} MiB {rate:F1} MiB/s");
            Console.Error.Write($"\r{line}");
        }
    }
}

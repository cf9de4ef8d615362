using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Tasks;
using Grpc.Net.Client;
using Vmci.Native;
using Vmci.Testing;
using WebAppOverVmci.Grpc;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The Native AOT executables that eng/test publishes (the dashboard, and the library alone), run the way a
/// minimal guest runs them: in a mount namespace where an empty tmpfs covers the .NET install, so no runtime is
/// reachable; called over vsock by socat, ncat and curl, and the dashboard's gRPC by Grpc.Net.Client.
/// </summary>
[Trait("Category", "Vsock")]
public sealed class NativeAotTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Dashboard_NativeAot_WithoutTheRuntime_ServesHealthStatusPageAndLiveEvents()
    {
        string executable = Published("VMCI_AOT_SAMPLE", "samples/WebAppOverVmci");
        uint port = VsockServer.UrlSafePort();
        VsockServer.UrlSafePort(); // the dashboard takes port + 1 for HTTP/2
        using WatchedProcess server = await StartWithoutRuntimeAsync(executable, "--port", port.ToString(CultureInfo.InvariantCulture));
        var target = new VmciEndPoint(VmciCid.Local, port);
        VsockGuard.EnsureMayConnect(target);

        string health = await NcatAsync(target, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        string page = await CurlAsync(target, "/");
        string status = await SocatAsync(target, "GET /api/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        JsonElement[] events = await ServerSentEventsAsync(target, count: 2);
        // gRPC on the HTTP/2 port: Grpc.AspNetCore and the protobuf messages compiled ahead of time.
        using GrpcChannel channel = GrpcChannel.ForAddress("http://cid-local", new GrpcChannelOptions { HttpHandler = VmciHttp.CreateHandler(new VmciEndPoint(VmciCid.Local, port + 1)) });
        GetStatusReply grpc = await new Dashboard.DashboardClient(channel).GetStatusAsync(new GetStatusRequest(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", health, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nok", health, StringComparison.Ordinal);
        Assert.Contains("served over vsock", page, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", status, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", status, StringComparison.OrdinalIgnoreCase);
        using JsonDocument json = JsonDocument.Parse(Body(status));
        JsonElement you = json.RootElement.GetProperty("you");
        Assert.Equal("vsock", you.GetProperty("transport").GetString());
        Assert.Equal(1u, you.GetProperty("peerCid").GetUInt32());
        Assert.True(you.GetProperty("peerPort").GetUInt32() > 0);
        Assert.Equal($"vsock://1:{port}", you.GetProperty("localEndPoint").GetString());
        Assert.Equal("HTTP/1.1", you.GetProperty("protocol").GetString());
        JsonElement vm = json.RootElement.GetProperty("status");
        Assert.Equal("1", vm.GetProperty("localCid").GetString());
        Assert.StartsWith(".NET ", vm.GetProperty("dotnetVersion").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, vm.GetProperty("requestsServed").GetInt64());
        Assert.Equal(["/api/status", "/", "/healthz"], vm.GetProperty("recentCallers").EnumerateArray().Select(c => c.GetProperty("path").GetString()));
        // Live: each event is a fresh snapshot of the VM.
        Assert.All(events, e => Assert.Equal("1", e.GetProperty("localCid").GetString()));
        Assert.True(events[1].GetProperty("uptimeSeconds").GetDouble() > events[0].GetProperty("uptimeSeconds").GetDouble());
        Assert.Equal(1u, grpc.Status.LocalCid);
        Assert.Equal(4, grpc.Status.RequestsServed);
        Assert.Equal(("vsock", 1u, "HTTP/2"), (grpc.You.Transport, grpc.You.PeerCid, grpc.You.Protocol));
        AssertNoRuntimeLoaded(server);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task LibraryAlone_NativeAot_WithoutTheRuntime_ServesAndCallsOverVsock()
    {
        string executable = Published("VMCI_AOT_SMOKE", "tests/Vmci.AotSmoke");
        uint port = VsockServer.UrlSafePort();
        VsockServer.UrlSafePort(); // it takes port + 1 for HTTP/2
        using WatchedProcess server = await StartWithoutRuntimeAsync(executable, port.ToString(CultureInfo.InvariantCulture));
        var target = new VmciEndPoint(VmciCid.Local, port);
        VsockGuard.EnsureMayConnect(target);

        // /self makes the server call itself through HttpClient over vsock: the client half of the library.
        string served = await SocatAsync(target, "GET /self HTTP/1.1\r\nHost: vm\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", served, StringComparison.Ordinal);
        Assert.Equal("self: aot: CID 1 over HTTP/1.1", Body(served));
        AssertNoRuntimeLoaded(server);
    }

    /// <summary>The native executable eng/test published, named by an environment variable.</summary>
    private static string Published(string variable, string project)
    {
        string? path = Environment.GetEnvironmentVariable(variable);
        Assert.SkipWhen(string.IsNullOrEmpty(path),
            $"{variable} is not set: publish {project} with -p:PublishAot=true and set it to the executable (eng/test does)");
        Assert.True(File.Exists(path), $"{variable}={path}: no such file; publish {project} with -p:PublishAot=true");
        Assert.False(File.Exists(Path.ChangeExtension(path, ".dll")), $"{path} has a .dll beside it: that is a JIT build, not Native AOT");
        return path!;
    }

    /// <summary>
    /// Runs the executable in its own mount namespace with an empty tmpfs over the .NET install this test runs
    /// on (and no DOTNET_* variables), after checking that `dotnet` no longer starts there; returns once it serves.
    /// </summary>
    private static async Task<WatchedProcess> StartWithoutRuntimeAsync(string executable, params string[] args)
    {
        string unshare = ExternalProcess.Require("unshare", "util-linux");
        var start = new ProcessStartInfo(unshare);
        foreach (string arg in (string[])["--mount", "--propagation", "private", "sh", "-c", HideRuntimeThenExec, "sh", DotnetRoot(), executable, .. args])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(name);
        }

        WatchedProcess server = WatchedProcess.Start(start);
        try
        {
            await server.WaitForLineAsync(l => l.Contains("Application started", StringComparison.Ordinal), "'Application started'", StartTimeout);
            Assert.Single(server.Lines(l => l.StartsWith("runtime hidden:", StringComparison.Ordinal)));
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private const string HideRuntimeThenExec = """
        root=$1; shift
        mount -t tmpfs -o size=64k,mode=0755 no-dotnet "$root" || { echo "cannot mount a tmpfs over $root (root needed)" >&2; exit 90; }
        [ -z "$(ls -A "$root")" ] || { echo "$root is not empty under the tmpfs" >&2; exit 91; }
        if dotnet --info >/dev/null 2>&1; then echo "dotnet still starts with $root hidden" >&2; exit 92; fi
        echo "runtime hidden: $root is an empty tmpfs, dotnet does not start"
        exec "$@"
        """;

    /// <summary>The .NET install this test runs on (…/shared/Microsoft.NETCore.App/VERSION/ is three levels down).</summary>
    private static string DotnetRoot()
        => Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    /// <summary>No CoreCLR, JIT or host library and nothing from the .NET install is mapped into the server.</summary>
    private static void AssertNoRuntimeLoaded(WatchedProcess server)
    {
        string[] maps = File.ReadAllLines($"/proc/{server.Id}/maps");
        string root = DotnetRoot();
        Assert.Contains(maps, l => l.EndsWith("WebAppOverVmci", StringComparison.Ordinal) || l.EndsWith("Vmci.AotSmoke", StringComparison.Ordinal));
        Assert.DoesNotContain(maps, l => l.Contains(root, StringComparison.Ordinal) || l.Contains("libcoreclr", StringComparison.Ordinal)
            || l.Contains("libclrjit", StringComparison.Ordinal) || l.Contains("libhostfxr", StringComparison.Ordinal));
    }

    /// <summary>The body of a raw HTTP/1.1 response, de-chunked when it came with Transfer-Encoding: chunked.</summary>
    private static string Body(string response)
    {
        int end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"not an HTTP response: {response}");
        string body = response[(end + 4)..];
        if (!response[..end].Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        var text = new System.Text.StringBuilder();
        for (int at = 0; ;)
        {
            int lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            int size = int.Parse(body.AsSpan(at, lineEnd - at), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return text.ToString();
            }

            text.Append(body, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }

    private static async Task<string> NcatAsync(VmciEndPoint target, string request)
    {
        string ncat = ExternalProcess.Require("ncat", "ncat");
        var (exit, stdout, stderr) = await ExternalProcess.RunAsync(ncat,
            ["--vsock", "--no-shutdown", target.Cid.ToString(CultureInfo.InvariantCulture), target.Port.ToString(CultureInfo.InvariantCulture)], stdin: request);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    private static async Task<string> SocatAsync(VmciEndPoint target, string request)
    {
        string socat = ExternalProcess.Require("socat", "socat");
        var (exit, stdout, stderr) = await ExternalProcess.RunAsync(socat, ["-t", "30", "-", $"VSOCK-CONNECT:{target.Cid}:{target.Port},shut-none"], stdin: request);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    /// <summary>curl, which speaks TCP only, through a socat bridge to vsock; fails on any HTTP error.</summary>
    private static async Task<string> CurlAsync(VmciEndPoint target, string path)
    {
        string curl = ExternalProcess.Require("curl", "curl");
        using SocatBridge bridge = await SocatBridge.StartAsync(target);
        var (exit, stdout, stderr) = await ExternalProcess.RunAsync(curl, ["-sS", "--fail", $"http://127.0.0.1:{bridge.Port}{path}"]);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    /// <summary>
    /// The live view's stream (/api/events) read by socat until <paramref name="count"/> status events arrived; asked
    /// over HTTP/1.0 so the body comes unchunked and every event line is a line of socat's output.
    /// </summary>
    private static async Task<JsonElement[]> ServerSentEventsAsync(VmciEndPoint target, int count)
    {
        string socat = ExternalProcess.Require("socat", "socat");
        var start = new ProcessStartInfo(socat);
        foreach (string arg in (string[])["-", $"VSOCK-CONNECT:{target.Cid}:{target.Port},shut-none"])
        {
            start.ArgumentList.Add(arg);
        }

        using WatchedProcess stream = WatchedProcess.Start(start, "GET /api/events HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n");
        int seen = 0;
        await stream.WaitForLineAsync(l => l.StartsWith("data: ", StringComparison.Ordinal) && ++seen == count, $"{count} events", StartTimeout);
        Assert.Contains(stream.Lines(_ => true), l => l.Equals("Content-Type: text/event-stream", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(count, stream.Lines(l => l == "event: status").Length);
        return [.. stream.Lines(l => l.StartsWith("data: ", StringComparison.Ordinal)).Take(count).Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement.Clone())];
    }
}

using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Programs no one here wrote (socat, ncat, curl, h2load), run as a user would run them.</summary>
internal static class ExternalProcess
{
    /// <summary>The program's path, or a skip that says which Debian package has it.</summary>
    public static string Require(string program, string package)
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);
        Assert.SkipWhen(path is null, $"{program} is not installed (Debian package {package}; eng/test installs it)");
        return path!;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] args, string? stdin = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in time; stderr: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeTcpPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>
/// socat listening on 127.0.0.1 and forwarding each TCP connection to a vsock endpoint: how curl, h2load
/// and browsers, which speak only TCP, reach a vsock server.
/// </summary>
internal sealed class SocatBridge : IDisposable
{
    private readonly Process _process;

    private SocatBridge(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<SocatBridge> StartAsync(Native.VmciEndPoint target)
    {
        string socat = ExternalProcess.Require("socat", "socat");
        Testing.VsockGuard.EnsureMayConnect(target);
        int port = ExternalProcess.FreeTcpPort();
        var start = new ProcessStartInfo(socat) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in new[] { $"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", $"VSOCK-CONNECT:{target.Cid}:{target.Port}" })
        {
            start.ArgumentList.Add(arg);
        }

        Process process = Process.Start(start)!;
        // Wait until it listens.
        for (int i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return new SocatBridge(process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        process.Kill();
        throw new InvalidOperationException($"socat did not start listening on 127.0.0.1:{port}: {process.StandardError.ReadToEnd()}");
    }

    public void Dispose()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }
}

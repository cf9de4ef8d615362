using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary><c>vmci notify</c> and <c>vmci wait-ready</c> as a script runs them: separate processes, exit codes, messages.</summary>
public sealed partial class NotifyToolTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
        => ExternalProcess.RunAsync("dotnet", [ToolProcess.ToolPath, .. args], null, HangGuard);

    [GeneratedRegex(@"guests send to vsock-stream:2:(\d+)")]
    private static partial Regex GuestAddress();

    [VsockFact(VsockNeeds.Loopback)]
    public async Task WaitReady_ExitsZeroOnReady_AfterPrintingEachMessage()
    {
        var start = new ProcessStartInfo("dotnet");
        foreach (string arg in new[] { ToolProcess.ToolPath, "wait-ready", "--listen", "vsock://any:any", "--cid", "1", "--timeout", "120" })
        {
            start.ArgumentList.Add(arg);
        }

        using WatchedProcess waiter = WatchedProcess.Start(start);
        string listening = await waiter.WaitForLineAsync(l => GuestAddress().IsMatch(l), "its listening line", HangGuard);
        uint port = uint.Parse(GuestAddress().Match(listening).Groups[1].Value, CultureInfo.InvariantCulture);
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, port));

        var status = await RunAsync("notify", $"vsock-stream:1:{port}", "STATUS=Booting");
        var ready = await RunAsync("notify", $"vsock-stream:local:{port}", "STATUS=Serving", "READY=1");

        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.True(ready.ExitCode == 0, ready.Stderr);
        Assert.Equal(0, await waiter.WaitForExitAsync(HangGuard));
        Assert.Equal(["STATUS=Booting (CID 1", "STATUS=Serving READY=1 (CID 1"], waiter.Lines(l => l.StartsWith("STATUS=", StringComparison.Ordinal)).Select(l => l[..l.IndexOf(", port", StringComparison.Ordinal)]));
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task WaitReady_Timeout_NamesCidAndPort_Exit28()
    {
        var (exit, stdout, stderr) = await RunAsync("wait-ready", "--listen", "vsock://any:any", "--cid", "7", "--timeout", "1");

        Assert.Equal(28, exit);
        Assert.Equal("", stdout);
        uint port = uint.Parse(GuestAddress().Match(stderr).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Contains($"No READY=1 from CID 7 on vsock://any:{port} (port {port}) within 1 s: nothing was received from CID 7", stderr, StringComparison.Ordinal);
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task Notify_NobodyListening_Exit7WithTheCause()
    {
        VmciEndPoint closed = TestSockets.ClosedLoopbackPort();

        var (exit, _, stderr) = await RunAsync("notify", $"vsock-stream:1:{closed.Port}", "READY=1");

        Assert.Equal(7, exit);
        Assert.Contains($"vsock://1:{closed.Port}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadArguments_Exit2_SayWhatIsWrong()
    {
        var unix = await RunAsync("notify", "/run/systemd/notify", "READY=1");
        var field = await RunAsync("notify", "vsock:2:9", "READY");
        var listen = await RunAsync("wait-ready", "--listen", "tcp://1.2.3.4:5");

        Assert.Equal(2, unix.ExitCode);
        Assert.Contains("is a Unix socket address", unix.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, field.ExitCode);
        Assert.Contains("'READY' is not a field: each is KEY=VALUE", field.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, listen.ExitCode);
        Assert.Contains("is not a vsock endpoint", listen.Stderr, StringComparison.Ordinal);
    }
}

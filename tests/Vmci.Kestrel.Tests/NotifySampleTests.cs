using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The guest side end to end: the sample dashboard (an app that calls UseVmci()) started as its own process with
/// NOTIFY_SOCKET set, as systemd or a VMM's init would start it, reports to a receiver over real vsock.
/// </summary>
public sealed class NotifySampleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockTheory(VsockNeeds.Loopback)]
    [InlineData("vsock-stream")]
    [InlineData("vsock-seqpacket")]
    public async Task Sample_ReadyOnlyOnceItServes_StoppingOnSigterm_EachOnce(string form)
    {
        SocketType type = form == "vsock-stream" ? SocketType.Stream : SocketType.Seqpacket;
        await using var receiver = VmciNotifyReceiver.Start(new VmciEndPoint(VmciCid.Any, VmciPort.Any), new VmciNotifyReceiverOptions { SocketType = type });
        uint notifyPort = ((VmciEndPoint)receiver.EndPoint).Port;
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, notifyPort));
        uint port = VsockServer.UrlSafePort();
        VsockServer.UrlSafePort(); // the sample takes port + 1 for HTTP/2
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "WebAppOverVmci.dll"));
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        start.Environment["NOTIFY_SOCKET"] = $"{form}:1:{notifyPort}";

        var clock = Stopwatch.StartNew();
        using WatchedProcess sample = WatchedProcess.Start(start);
        VmciNotification ready = await receiver.WaitForReadyAsync(VmciCid.Local, Patience, Ct);
        TimeSpan toReady = clock.Elapsed;

        // READY=1 means Kestrel serves: a request sent the moment it arrives is answered (Host localhost: the sample filters Host names).
        var dashboard = new VmciEndPoint(VmciCid.Local, port);
        VsockGuard.EnsureMayConnect(dashboard);
        using var client = new HttpClient(VmciHttp.CreateHandler(dashboard));
        using HttpResponseMessage health = await client.GetAsync("http://localhost/healthz", Ct);
        TimeSpan toAnswer = clock.Elapsed;
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("READY=1", NotificationText.Of(ready));
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{form}: exec to READY=1 seen by the receiver {toReady.TotalMilliseconds:0} ms; first request answered {toAnswer.TotalMilliseconds:0} ms after exec ({(toAnswer - toReady).TotalMilliseconds:0} ms after READY=1)"));

        // SIGTERM, as systemd stops a service: STOPPING=1 comes before the process exits cleanly.
        var (killed, _, killError) = await ExternalProcess.RunAsync("kill", ["-TERM", sample.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(killed == 0, killError);
        Assert.Equal(0, await sample.WaitForExitAsync(Patience));

        await receiver.DisposeAsync(); // ends the stream once everything received is in it
        var all = new List<VmciNotification>();
        await foreach (VmciNotification n in receiver.ReadAllAsync(Ct))
        {
            all.Add(n);
        }

        Assert.Equal(["READY=1", "STOPPING=1"], all.Select(NotificationText.Of));
        Assert.All(all, n => Assert.Equal(VmciCid.Local, n.PeerCid));
        Assert.Equal(0, receiver.RejectedMessages);
    }

    [VsockFact(VsockNeeds.AfVsock)]
    public async Task Sample_BadVsockAddress_ServesAnyway_AndSaysWhy()
    {
        uint port = VsockServer.UrlSafePort();
        VsockServer.UrlSafePort();
        var start = new ProcessStartInfo("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "WebAppOverVmci.dll"));
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        start.Environment["NOTIFY_SOCKET"] = "vsock-stream:any:8888";

        using WatchedProcess sample = WatchedProcess.Start(start);

        string line = await sample.WaitForLineAsync(l => l.Contains("NOTIFY_SOCKET is set but is not a usable vsock address", StringComparison.Ordinal), "notify warning", Patience);
        await sample.WaitForLineAsync(l => l.Contains("Application started", StringComparison.Ordinal), "start", Patience);
        Assert.DoesNotContain("An error occurred", sample.Output, StringComparison.Ordinal);
        Assert.Contains("'any', which names no receiver", sample.Output, StringComparison.Ordinal);
        Assert.NotNull(line);
    }
}

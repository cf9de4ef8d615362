using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The real guests (their own kernel and CID) that eng/vsock-guests booted beside this sandbox VM, which plays
/// their host at CID 2, and the controls it gives: run a shell command in a guest, qemu's monitor, crash, boot.
/// </summary>
internal static class Guests
{
    internal const string Category = "Guest";

    /// <summary>The guests' CIDs (VSOCK_GUESTS), empty outside eng/vsock-guests.</summary>
    public static IReadOnlyList<uint> Cids { get; } = (Environment.GetEnvironmentVariable("VSOCK_GUESTS") ?? "")
        .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => uint.Parse(c, CultureInfo.InvariantCulture)).ToArray();

    private static string? Tool => Environment.GetEnvironmentVariable("VSOCK_GUESTS_TOOL");

    private static string Directory => Environment.GetEnvironmentVariable("VSOCK_GUESTS_DIR") ?? "/run/vsock-guests";

    /// <summary>Why guest tests cannot run here (null when guests 3 and 4 are up beside this sandbox VM).</summary>
    public static string? SkipReason => VsockEnvironment.InSandbox && Tool is not null && Cids.Contains(3u) && Cids.Contains(4u)
        ? null
        : "needs real guests (CIDs 3 and 4) booted inside the sandbox VM by eng/vsock-guests; run eng/test";

    /// <summary>Runs <paramref name="script"/> with busybox sh in the guest; its output is stdout and stderr together.</summary>
    public static async Task<(int ExitCode, string Output)> ExecAsync(uint cid, string script, TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? TimeSpan.FromMinutes(5);
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(
            Tool!, ["exec", cid.ToString(CultureInfo.InvariantCulture), "--timeout", ((int)limit.TotalSeconds).ToString(CultureInfo.InvariantCulture), "--", script],
            timeout: limit + TimeSpan.FromSeconds(30));
        Assert.True(exitCode != 124 || !stderr.Contains("no answer from its agent", StringComparison.Ordinal), $"guest {cid}: {stderr}");
        return (exitCode, stdout);
    }

    /// <summary>Runs <paramref name="script"/> in the guest and fails the test unless it exits 0.</summary>
    public static async Task<string> RunAsync(uint cid, string script, TimeSpan? timeout = null)
    {
        var (exitCode, output) = await ExecAsync(cid, script, timeout);
        Assert.True(exitCode == 0, $"guest {cid}: `{script}` exited {exitCode}: {output}");
        return output;
    }

    /// <summary>A command of qemu's human monitor (stop, cont, system_reset, info status); returns its answer.</summary>
    public static Task<string> MonitorAsync(uint cid, string command) => ToolAsync(TimeSpan.FromSeconds(30), "monitor", cid.ToString(CultureInfo.InvariantCulture), command);

    /// <summary>SIGKILL to the guest's qemu: the guest crashes (returns once qemu is gone).</summary>
    public static async Task KillAsync(uint cid)
    {
        await ToolAsync(TimeSpan.FromSeconds(30), "kill", cid.ToString(CultureInfo.InvariantCulture));
        Interlocked.Increment(ref Generation(cid).Value);
    }

    /// <summary>Boots the guest again (a new guest with the same CID); returns once its agent answers.</summary>
    public static async Task StartAsync(uint cid)
    {
        await ToolAsync(TimeSpan.FromMinutes(15), "start", cid.ToString(CultureInfo.InvariantCulture));
        Interlocked.Increment(ref Generation(cid).Value);
    }

    /// <summary>qemu's system_reset (the guest reboots); returns once its agent answers again, or at once with <paramref name="wait"/> false.</summary>
    public static async Task ResetAsync(uint cid, bool wait = true)
    {
        string[] args = wait ? ["reset", $"{cid}"] : ["reset", $"{cid}", "--no-wait"];
        await ToolAsync(TimeSpan.FromMinutes(15), args);
        Interlocked.Increment(ref Generation(cid).Value);
    }

    /// <summary>After <see cref="ResetAsync"/> without waiting: returns once the new boot's agent answers.</summary>
    public static Task WaitForBootAsync(uint cid) => ToolAsync(TimeSpan.FromMinutes(15), "wait-boot", $"{cid}");

    /// <summary>
    /// A snapshot: qemu migrates the whole guest to a file in the guests' directory and its qemu ends. Unlike
    /// <see cref="KillAsync"/> the guest is not lost: <see cref="RestoreAsync"/> resumes it, processes and all.
    /// </summary>
    public static Task<string> SaveAsync(uint cid) => ToolAsync(TimeSpan.FromMinutes(11), "save", $"{cid}", SnapshotFile(cid));

    /// <summary>A new qemu resumes the guest saved by <see cref="SaveAsync"/> (no boot); returns once its agent answers.</summary>
    public static Task<string> RestoreAsync(uint cid) => ToolAsync(TimeSpan.FromMinutes(11), "restore", $"{cid}", SnapshotFile(cid));

    private static string SnapshotFile(uint cid) => Path.Combine(Directory, $"cid-{cid}", "snapshot");

    /// <summary>Whether the guest's qemu runs (it may be paused).</summary>
    public static bool IsRunning(uint cid)
    {
        string pidFile = Path.Combine(Directory, $"cid-{cid}", "qemu.pid");
        if (!File.Exists(pidFile))
        {
            return false;
        }

        // A killed qemu may stay a zombie for a moment: "PID (comm) STATE ...".
        string stat = $"/proc/{File.ReadAllText(pidFile).Trim()}/stat";
        try
        {
            string text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..].StartsWith('Z') is false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Counts the guest's boots and crashes in this process, so that what runs in it knows to start again.</summary>
    public static StrongBox Generation(uint cid)
    {
        lock (s_generations)
        {
            if (!s_generations.TryGetValue(cid, out StrongBox? box))
            {
                s_generations[cid] = box = new StrongBox();
            }

            return box;
        }
    }

    private static readonly Dictionary<uint, StrongBox> s_generations = [];

    private static async Task<string> ToolAsync(TimeSpan timeout, params string[] args)
    {
        var (exitCode, stdout, stderr) = await ExternalProcess.RunAsync(Tool!, args, timeout: timeout);
        Assert.True(exitCode == 0, $"vsock-guests {string.Join(' ', args)} exited {exitCode}: {stderr}{stdout}");
        return stdout;
    }

    internal sealed class StrongBox
    {
        public int Value;
    }
}

/// <summary>
/// The server the guest tests call in each guest, started once per boot and shared: Vmci.AotSmoke from the guest's
/// initramfs (/opt), HTTP/1.1 on <see cref="SmokePort"/> and HTTP/2 (h2c) on <see cref="SmokeHttp2Port"/>:
/// GET /status ("local CID L, peer CID P, PROTOCOL") and GET /bytes/COUNT.
/// </summary>
internal static class GuestServers
{
    public const uint SmokePort = 9000;

    public const uint SmokeHttp2Port = 9001;

    public const string Smoke = "/opt/Vmci.AotSmoke/Vmci.AotSmoke";

    private static readonly Dictionary<uint, SemaphoreSlim> s_locks = [];
    private static readonly Dictionary<uint, int> s_serving = [];
    private static int s_startedAll;

    /// <summary>
    /// A port for a server here that guests call by URL (<c>http://cid-host:PORT/</c>): URLs take ports up to 65535,
    /// where the kernel's ephemeral vsock ports are 32-bit.
    /// </summary>
    public static uint HostPort() => VsockServer.UrlSafePort();

    /// <summary>The answer of GET /status from guest <paramref name="cid"/> to this host (CID 2).</summary>
    public static string Status(uint cid, string protocol = "HTTP/1.1") => $"local CID {cid}, peer CID 2, {protocol}";

    /// <summary>
    /// Boots the guest if it is down, then starts its server unless it runs in this boot already. The first call
    /// starts every guest's server at once: a start takes minutes of a guest's one vCPU under TCG inside TCG, and
    /// the guests run side by side.
    /// </summary>
    public static async Task EnsureAsync(uint cid)
    {
        if (Interlocked.Exchange(ref s_startedAll, 1) == 0)
        {
            foreach (uint other in Guests.Cids.Where(c => c != cid))
            {
                // Not awaited: a failure here is seen again, and reported, by the first test that needs that guest.
                _ = EnsureOneAsync(other, CancellationToken.None);
            }
        }

        await EnsureOneAsync(cid, TestContext.Current.CancellationToken);
    }

    private static async Task EnsureOneAsync(uint cid, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (s_locks)
        {
            if (!s_locks.TryGetValue(cid, out gate!))
            {
                s_locks[cid] = gate = new SemaphoreSlim(1, 1);
            }
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!Guests.IsRunning(cid))
            {
                await Guests.StartAsync(cid);
            }

            int generation = Volatile.Read(ref Guests.Generation(cid).Value);
            if (Serving(cid) == generation)
            {
                return;
            }

            // The server runs in the background with its output in a file (the guest's agent runs one command at
            // a time); the command returns once it listens. The check comes every 2 s: each one is a process start,
            // which the guest's one emulated vCPU would otherwise take from the server's start.
            await Guests.RunAsync(cid, $$"""
                {{Smoke}} {{SmokePort}} >/tmp/smoke.log 2>&1 &
                i=0
                until grep -q 'Application started' /tmp/smoke.log; do
                  i=$((i + 1)); [ $i -lt 300 ] || { cat /tmp/smoke.log; exit 1; }
                  sleep 2
                done
                """, TimeSpan.FromMinutes(11));
            lock (s_serving)
            {
                s_serving[cid] = generation;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private static int? Serving(uint cid)
    {
        lock (s_serving)
        {
            return s_serving.TryGetValue(cid, out int generation) ? generation : null;
        }
    }
}

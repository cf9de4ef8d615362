using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// The sample dashboard started the way systemd starts a socket-activated service, by Debian's real
/// <c>systemd-socket-activate</c>: it binds the sockets, waits for the first connection, then execs the
/// app with them as descriptors 3, 4, ... (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES).
/// </summary>
internal sealed class ActivatedSample : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly Task _stdoutPump;

    private ActivatedSample(Process process)
    {
        _process = process;
        _stdoutPump = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_stdout)
                {
                    _stdout.AppendLine(line);
                }
            }
        });
    }

    /// <summary>Starts <c>systemd-socket-activate ARGS dotnet WebAppOverVmci.dll</c> and waits until it listens on all <paramref name="sockets"/>.</summary>
    public static async Task<ActivatedSample> StartAsync(string activate, string[] sockets, string names)
    {
        var start = new ProcessStartInfo(activate) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string socket in sockets)
        {
            start.ArgumentList.Add($"--listen={socket}");
        }

        start.ArgumentList.Add($"--fdname={names}");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "WebAppOverVmci.dll"));
        var sample = new ActivatedSample(Process.Start(start)!);
        try
        {
            // systemd-socket-activate says "Listening on ADDRESS as FD." for each socket before it waits.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            for (int seen = 0; seen < sockets.Length;)
            {
                string line = await sample._process.StandardError.ReadLineAsync(cts.Token)
                    ?? throw new InvalidOperationException($"systemd-socket-activate ended (exit {sample.ExitCodeText()}) before listening.");
                seen += line.StartsWith("Listening on ", StringComparison.Ordinal) ? 1 : 0;
            }

            _ = sample._process.StandardError.ReadToEndAsync();
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>Stops the app and returns what it logged to standard output (Kestrel's and the transport's console log).</summary>
    public async Task<string> StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await _stdoutPump;
        lock (_stdout)
        {
            return _stdout.ToString();
        }
    }

    private string ExitCodeText() => _process.WaitForExit(5000) ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "still running";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}

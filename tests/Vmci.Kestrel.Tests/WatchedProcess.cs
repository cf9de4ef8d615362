using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// A long-running program (a server, a streaming client) whose output lines the test waits for: the line that
/// says it is ready, or the events it received. Killed with its children on dispose.
/// </summary>
internal sealed class WatchedProcess : IDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _waiters = [];

    private WatchedProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>Everything it printed so far (stdout and stderr, in arrival order), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Starts <paramref name="start"/> with stdout and stderr watched; <paramref name="stdin"/>, if any, is written and left open.</summary>
    public static WatchedProcess Start(ProcessStartInfo start, string? stdin = null)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = stdin is not null;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var watched = new WatchedProcess(process);
        process.OutputDataReceived += (_, e) => watched.Add(e.Data);
        process.ErrorDataReceived += (_, e) => watched.Add(e.Data);
        process.Exited += (_, _) => watched.FailWaiters();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Flush();
        }

        return watched;
    }

    /// <summary>The first line (already printed or still to come) that matches; fails if the program exits or the time runs out first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            _waiters.Add((match, seen));
        }

        if (_process.HasExited)
        {
            FailWaiters();
        }

        try
        {
            return await seen.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} printed no {what} within {timeout.TotalSeconds} s; it printed:\n{Output}");
        }
    }

    /// <summary>Waits for it to exit and returns its exit code; fails with what it printed if it does not exit in time.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout.TotalSeconds} s; it printed:\n{Output}");
        }

        _process.WaitForExit(); // drains the last output lines
        return _process.ExitCode;
    }

    /// <summary>The lines printed so far that match.</summary>
    public string[] Lines(Func<string, bool> match)
    {
        lock (_lock)
        {
            return [.. _lines.Where(match)];
        }
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _lines.Add(line);
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToArray())
            {
                waiter.Seen.TrySetResult(line);
                _waiters.Remove(waiter);
            }
        }
    }

    private void FailWaiters()
    {
        // Exited can fire before the last output lines are delivered; WaitForExit() drains them first.
        _process.WaitForExit();
        lock (_lock)
        {
            foreach (var waiter in _waiters)
            {
                waiter.Seen.TrySetException(new InvalidOperationException(
                    $"{_process.StartInfo.FileName} exited with code {_process.ExitCode} first; it printed:\n{string.Join('\n', _lines)}"));
            }

            _waiters.Clear();
        }
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.WaitForExit();
        _process.Dispose();
    }
}

using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Kestrel.Tests;

/// <summary>A long-running vmci (forward, gateway) as its own process, ended with the test.</summary>
internal sealed class ToolProcess : IDisposable
{
    private ToolProcess(Process process) => Process = process;

    public static string ToolPath => Path.Combine(AppContext.BaseDirectory, "vmci.dll");

    public Process Process { get; }

    public static ToolProcess Start(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(ToolPath);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new ToolProcess(Process.Start(start)!);
    }

    /// <summary>Reads standard error until a line contains <paramref name="text"/>.</summary>
    public async Task WaitForLineAsync(string text)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new StringBuilder();
        while (await Process.StandardError.ReadLineAsync(cts.Token) is { } line)
        {
            seen.AppendLine(line);
            if (line.Contains(text, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new InvalidOperationException($"vmci ended without writing '{text}': {seen}");
    }

    public void Dispose()
    {
        Process.Kill(entireProcessTree: true);
        Process.WaitForExit();
        Process.Dispose();
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

/// <summary>
/// What idle keep-alive connections cost: opens N connections, makes one request on each, leaves them open,
/// and reads the server's memory (its /gc endpoint, after a full collection) and the kernel's slab memory
/// (/proc/meminfo, both ends of every connection, as client and server share this machine) before and after.
/// </summary>
internal static class IdleConnections
{
    public static async Task<int> MeasureAsync(LoadOptions options, string target, int round)
    {
        using HttpClient control = ServerProbe.CreateClient(target);
        byte[] request = Encoding.ASCII.GetBytes($"GET {options.Path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        byte[] buffer = new byte[4096];

        // Warm the server's connection path first, so that the JIT's code does not count as connection memory.
        for (int i = 0; i < 20; i++)
        {
            using Socket socket = await OpenAsync(target, request, buffer);
        }

        JsonElement before = await ServerProbe.ReadAsync(control);
        long slabBefore = SlabBytes();
        var sockets = new List<Socket>(options.Idle);
        try
        {
            for (int i = 0; i < options.Idle; i++)
            {
                sockets.Add(await OpenAsync(target, request, buffer));
            }

            await Task.Delay(TimeSpan.FromSeconds(options.DurationSeconds));
            long slabAfter = SlabBytes();
            JsonElement after = await ServerProbe.ReadAsync(control);
            long Delta(string name) => after.GetProperty(name).GetInt64() - before.GetProperty(name).GetInt64();
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                target,
                round,
                idle = options.Idle,
                workingSetPerConnection = Delta("workingSet") / options.Idle,
                managedPerConnection = Delta("managed") / options.Idle,
                kernelSlabPerConnection = slabBefore < 0 ? (long?)null : (slabAfter - slabBefore) / options.Idle,
            }));
            return 0;
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task<Socket> OpenAsync(string target, byte[] request, byte[] buffer)
    {
        Socket socket = await Transports.ConnectAsync(target, CancellationToken.None);
        await socket.SendAsync(request);
        await socket.ReceiveAsync(buffer);
        return socket;
    }

    /// <summary>The kernel's slab memory (Slab: in /proc/meminfo) in bytes, or -1 where there is none.</summary>
    private static long SlabBytes()
    {
        string? line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("Slab:", StringComparison.Ordinal)) : null;
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Kestrel.Internal;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// One guest that opens many connections, sends and never lets the server read, against the per-CID buffer
/// budget. Reads the VM's available memory, so nothing else may run beside it.
/// </summary>
[Collection(nameof(ResourceTests))]
public sealed class HostileGuestTests
{
    private const int Connections = 40;
    private const int Allowed = 8;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [VsockFact(VsockNeeds.Loopback)]
    public async Task ManyConnectionsThatNeverLetTheServerRead_AreCappedByTheBufferBudget()
    {
        var defaults = new VmciTransportOptions();
        long perConnection = VmciPeerAdmission.BufferedBytesOf(defaults);
        (long pinned, int refused) = await FloodAsync(t => t.MaxBufferedBytesPerPeerCid = Allowed * perConnection);

        // Exactly the connections over the budget are closed unread, and counted with the reason.
        Assert.Equal(Connections - Allowed, refused);
        // The server held at most the budget for them (plus what any test process allocates meanwhile),
        // not the 40 x 5 MiB that an unbounded server holds (the explicit test below measures that).
        Assert.True(pinned < Allowed * perConnection + (48L << 20), $"{pinned >> 20} MiB pinned by {Allowed} admitted connections");
    }

    /// <summary>The same flood with no budget, to measure what it would pin (docs/reliability.md).</summary>
    [VsockFact(VsockNeeds.Loopback, Explicit = true)]
    public async Task ManyConnectionsThatNeverLetTheServerRead_WithoutABudget_Measure()
    {
        (_, int refused) = await FloodAsync(t => t.MaxBufferedBytesPerPeerCid = null);

        Assert.Equal(0, refused);
    }

    private static async Task<(long Pinned, int Refused)> FloodAsync(Action<VmciTransportOptions> transport)
    {
        await using VsockServer server = await VsockServer.StartAsync(
            app => app.MapPost("/hold", async (HttpContext context) =>
            {
                // Never reads the body: everything the guest sends stays in the kernel and the pipe.
                var gone = new TaskCompletionSource();
                using CancellationTokenRegistration registration = context.RequestAborted.Register(gone.SetResult);
                await gone.Task;
            }),
            transport: transport);
        // Refusals counted by the transport's metric, which counts every one (its warnings are rate-limited).
        int refusedCount = 0;
        using MeterListener meterListener = ServerMeters.Listen(server, "Vmci.Kestrel", "vmci.kestrel.rejected_connections", (_, tags) =>
        {
            if (tags.GetValueOrDefault("vmci.rejection.reason") is "peer_buffer_budget")
            {
                Interlocked.Increment(ref refusedCount);
            }
        });
        long before = MemAvailable();
        long sent = 0;
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                RawClient client = await RawClient.ConnectAsync(server.Target, Ct);
                clients.Add(client);
                sent += await FillAsync(client.Socket);
            }

            long pinned = before - MemAvailable();
            int refused = Volatile.Read(ref refusedCount);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{Connections} connections that never let the server read: {refused} refused, {sent >> 20} MiB sent and unread, VM memory available {before >> 20} -> {(before - pinned) >> 20} MiB ({pinned >> 20} MiB held)");
            return (pinned, refused);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>Sends a request with a huge body until the connection takes no more (or is closed).</summary>
    private static async Task<long> FillAsync(Socket socket)
    {
        byte[] chunk = new byte[64 * 1024];
        long sent = 0;
        try
        {
            await socket.SendAsync("POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"u8.ToArray(), SocketFlags.None, Ct);
            socket.Blocking = false;
            while (true)
            {
                try
                {
                    sent += socket.Send(chunk);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
                {
                    // Full for now. The server may still drain some into its pipe; once it stops for two
                    // seconds, the window and the pipe are full: that is what a hostile guest leaves behind.
                    if (!socket.Poll(TimeSpan.FromSeconds(2), SelectMode.SelectWrite))
                    {
                        return sent;
                    }
                }
            }
        }
        catch (SocketException)
        {
            // Closed by the server (over the budget): nothing more to send.
        }

        return sent;
    }

    private static long MemAvailable()
    {
        string line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

[CollectionDefinition(nameof(ResourceTests), DisableParallelization = true)]
public sealed class ResourceTestsDefinition;

/// <summary>Counts this process's socket descriptors (server and clients share it), so nothing else runs beside.</summary>
[Trait("Category", "Vsock")]
[Collection(nameof(ResourceTests))]
public sealed class ResourceTests
{
    [VsockFact(VsockNeeds.Loopback)]
    public async Task TenThousandConnections_LeaveNoDescriptorBehind_AndTheServerKeepsServing()
    {
        const int Connections = 10_000, Batch = 50;
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "ok"));
        using (RawClient warm = await RawClient.ConnectAsync(server.Target, ct))
        {
            await warm.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ct);
            await warm.ReceiveToEndAsync(ct);
        }

        // Only sockets opened from here on count: what earlier tests left open may close at any time.
        HashSet<string> before = FileDescriptors.Snapshot();

        for (int i = 0; i < Connections; i += Batch)
        {
            await Task.WhenAll(Enumerable.Range(i, Batch).Select(async n =>
            {
                using RawClient client = await RawClient.ConnectAsync(server.Target, ct);
                if (n % 10 == 0)
                {
                    // Every tenth makes a request; the others connect and leave.
                    await client.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ct);
                    Assert.StartsWith("HTTP/1.1 200 OK", await client.ReceiveToEndAsync(ct), StringComparison.Ordinal);
                }
            }));
        }

        // Kestrel closes its ends after the connection's tasks finish, asynchronously: poll until none is left
        // (or give up after a minute and show what stayed open).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (FileDescriptors.OpenedSince(before).Count > 0 && !timeout.IsCancellationRequested)
        {
            await Task.Delay(100, CancellationToken.None);
        }

        Assert.Empty(FileDescriptors.OpenedSince(before));
        using RawClient after = await RawClient.ConnectAsync(server.Target, ct);
        await after.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ct);
        Assert.StartsWith("HTTP/1.1 200 OK", await after.ReceiveToEndAsync(ct), StringComparison.Ordinal);
    }
}

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Testing;
using Xunit;

namespace Vmci.Kestrel.Tests;

/// <summary>Kestrel's own connection metrics count vsock connections like any other.</summary>
[Trait("Category", "Vsock")]
public sealed class MetricsTests
{
    [VsockFact(VsockNeeds.Loopback)]
    public async Task KestrelConnectionMetrics_CountVsockConnections()
    {
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "m"));
        IMeterFactory meterFactory = server.App.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this app's Kestrel meter: other tests run servers in this process too.
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Meter.Scope == meterFactory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.Start();

        using (HttpClient client = server.CreateClient())
        {
            Assert.Equal("m", await client.GetStringAsync("/", TestContext.Current.CancellationToken));
        }

        // The connection ends when the client goes; its duration is recorded then.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!measurements.Any(m => m.Instrument == "kestrel.connection.duration"))
        {
            await Task.Delay(50, timeout.Token);
        }

        Assert.Contains(measurements, m => m.Instrument == "kestrel.active_connections" && m.Value == 1);
        Assert.Contains(measurements, m => m.Instrument == "kestrel.active_connections" && m.Value == -1);
        var duration = measurements.First(m => m.Instrument == "kestrel.connection.duration");
        Assert.True(duration.Value > 0);
        Assert.Equal("1.1", duration.Tags.GetValueOrDefault("network.protocol.version"));
        Assert.Equal(1L, duration.Tags.GetValueOrDefault("vsock.peer.cid"));
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task RefusedConnections_AreCountedWithTheirReasonAndPeerCid()
    {
        var measurements = new ConcurrentQueue<(long Value, Dictionary<string, object?> Tags)>();
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "m"), transport: t => t.AllowedPeerCids.Add(42));
        using MeterListener listener = ServerMeters.Listen(server, "Vmci.Kestrel", "vmci.kestrel.rejected_connections", (v, tags) => measurements.Enqueue((v, tags)));

        // CID 1 is not allowed: each connection is closed before a byte is read, and counted.
        for (int i = 0; i < 3; i++)
        {
            using RawClient refused = await RawClient.ConnectAsync(server.Target, TestContext.Current.CancellationToken);
            Assert.Equal("", await RawClient.ReceiveToEndOrResetAsync(refused.Socket, TestContext.Current.CancellationToken));
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (measurements.Count < 3)
        {
            await Task.Delay(50, timeout.Token);
        }

        Assert.Equal(3, measurements.Count);
        Assert.All(measurements, m =>
        {
            Assert.Equal(1, m.Value);
            Assert.Equal("peer_cid_not_allowed", m.Tags["vmci.rejection.reason"]);
            Assert.Equal(1L, m.Tags["vsock.peer.cid"]);
        });
    }

    [VsockFact(VsockNeeds.Loopback)]
    public async Task KestrelMemoryPool_ServesVsockConnections()
    {
        // A server with a vsock endpoint only: every rental from Kestrel's pinned-block pool is a vsock connection's.
        // With MemoryPool<byte>.Shared (what SocketConnectionFactoryOptions gives by itself) the pool's meter stays silent.
        var rented = new ConcurrentQueue<(long Value, object? Owner)>();
        await using VsockServer server = await VsockServer.StartAsync(app => app.MapGet("/", () => "m"));
        using MeterListener listener = ServerMeters.Listen(server, "Microsoft.AspNetCore.MemoryPool", "aspnetcore.memory_pool.rented", (v, tags) => rented.Enqueue((v, tags.GetValueOrDefault("aspnetcore.memory_pool.owner"))));
        long before = rented.Sum(r => r.Value);

        using (HttpClient client = server.CreateClient())
        {
            Assert.Equal("m", await client.GetStringAsync("/", TestContext.Current.CancellationToken));
        }

        Assert.True(rented.Sum(r => r.Value) > before, "no rentals from Kestrel's memory pool while serving a vsock request");
        Assert.Contains(rented, r => Equals(r.Owner, "kestrel"));
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }
}

using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Vmci.Kestrel.Tests;

/// <summary>Listens to one instrument of one test server's meters (its own IMeterFactory, so that parallel servers do not mix).</summary>
internal static class ServerMeters
{
    /// <summary>Each measurement (a counter's long or a histogram's double, as long) of <paramref name="instrument"/>, with its tags.</summary>
    public static MeterListener Listen(VsockServer server, string meter, string instrument, Action<long, Dictionary<string, object?>> record)
    {
        IMeterFactory meterFactory = server.App.Services.GetRequiredService<IMeterFactory>();
        var listener = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == meter && i.Meter.Scope == meterFactory && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, v, tags, _) => record(v, ToDictionary(tags)));
        listener.SetMeasurementEventCallback<double>((_, v, tags, _) => record((long)v, ToDictionary(tags)));
        listener.Start();
        return listener;
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

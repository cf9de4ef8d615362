using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using Microsoft.Extensions.Configuration;
using Vmci.Native;

namespace WebAppOverVmci;

/// <summary>Where the dashboard listens: <c>--port P</c> (P and P+1), or Vmci:Urls / Vmci:Endpoints, plus an optional <c>--tcp IP:PORT</c>.</summary>
public sealed class DashboardOptions
{
    public const uint DefaultPort = 8080;

    public uint Port { get; init; } = DefaultPort;

    public IPEndPoint? TcpEndPoint { get; init; }

    /// <summary>The configuration names the vsock endpoints itself, so the defaults stay out of the way.</summary>
    public bool EndpointsFromConfiguration { get; init; }

    /// <summary>
    /// The Host names the dashboard answers unless ASP.NET's <c>AllowedHosts</c> setting names others (';'-separated,
    /// <c>*.example</c> for subdomains): the names it is reached by. The loopback names (<c>vmci forward</c> on
    /// 127.0.0.1), <c>*.localhost</c> (the origins of <c>vmci gateway</c>), and the cid-N names of host mapping
    /// (<c>http://cid-3:8080/</c>, <c>vmci get</c>) for CIDs 1, 2 and this VM's. Any other name, such as that of a
    /// page whose DNS name was rebound to 127.0.0.1, gets 400 and never reads the dashboard.
    /// </summary>
    public static IReadOnlyList<string> DefaultAllowedHosts() => DefaultAllowedHosts(LocalCid());

    public static IReadOnlyList<string> DefaultAllowedHosts(uint? localCid)
    {
        IEnumerable<string> cids = new[] { "local", "host", "1", "2", localCid?.ToString(CultureInfo.InvariantCulture) }.OfType<string>().Distinct().Select(cid => "cid-" + cid);
        return ["localhost", "*.localhost", "127.0.0.1", "[::1]", .. cids.SelectMany(name => new[] { name, name + "-to-host" })];
    }

    // Read once at start: a VM migrated to another CID is asked by its new name, which a restart (or AllowedHosts) adds.
    private static uint? LocalCid()
    {
        try
        {
            return VmciPlatform.GetLocalCid();
        }
        catch (Exception ex) when (ex is VmciSocketException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    public static DashboardOptions From(IConfiguration configuration)
    {
        uint port = DefaultPort;
        if (configuration["Dashboard:Port"] is { } portText)
        {
            if (!uint.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port >= uint.MaxValue - 1)
            {
                throw new InvalidOperationException($"--port (Dashboard:Port) = '{portText}' is not a vsock port: expected a whole number from 0 to 4294967293 (the dashboard also uses the next port).");
            }
        }

        IPEndPoint? tcp = null;
        if (configuration["Dashboard:Tcp"] is { } tcpText && !IPEndPoint.TryParse(tcpText, out tcp))
        {
            throw new InvalidOperationException($"--tcp (Dashboard:Tcp) = '{tcpText}' is not an IP endpoint: expected for example 127.0.0.1:5000.");
        }

        return new DashboardOptions
        {
            Port = port,
            TcpEndPoint = tcp,
            EndpointsFromConfiguration = configuration["Vmci:Urls"] is not null || configuration.GetSection("Vmci:Endpoints").Exists(),
        };
    }
}

using System;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace WebAppOverVmci;

/// <summary>Where the dashboard listens: <c>--port P</c> (P and P+1), or Vmci:Urls / Vmci:Endpoints, plus an optional <c>--tcp IP:PORT</c>.</summary>
public sealed class DashboardOptions
{
    public const uint DefaultPort = 8080;

    public uint Port { get; init; } = DefaultPort;

    public IPEndPoint? TcpEndPoint { get; init; }

    /// <summary>The configuration names the vsock endpoints itself, so the defaults stay out of the way.</summary>
    public bool EndpointsFromConfiguration { get; init; }

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

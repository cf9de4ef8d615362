using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Net;

namespace Vmci.Tool;

/// <summary>
/// The clients that <c>vmci forward</c> and <c>vmci gateway</c> serve, one rule for both: loopback only, unless
/// <c>--allow</c> lists addresses or networks, and then those alone (loopback too only when listed). With
/// <c>--listen 0.0.0.0:PORT</c> a remote client gets nothing (its connection is closed unanswered) unless allowed.
/// </summary>
internal sealed class ClientAllowList
{
    private readonly IPNetwork[] _networks;

    private ClientAllowList(IPNetwork[] networks) => _networks = networks;

    public static ClientAllowList LoopbackOnly { get; } = new([]);

    public bool IsAllowed(IPAddress address)
    {
        address = Normalize(address);
        return _networks.Length == 0 ? IPAddress.IsLoopback(address) : _networks.Any(n => n.Contains(address));
    }

    /// <summary>Parses <c>--allow</c> values: IP addresses or networks (<c>10.0.2.2</c>, <c>192.168.0.0/24</c>), comma-separated or repeated.</summary>
    public static bool TryParse(IEnumerable<string> values, [NotNullWhen(true)] out ClientAllowList? list, [NotNullWhen(false)] out string? error)
    {
        var networks = new List<IPNetwork>();
        foreach (string part in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (IPAddress.TryParse(part, out IPAddress? address))
            {
                address = Normalize(address);
                networks.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else if (IPNetwork.TryParse(part, out IPNetwork network))
            {
                networks.Add(network);
            }
            else
            {
                list = null;
                error = $"--allow '{part}' is not an IP address or network: expected for example 10.0.2.2 or 192.168.0.0/24";
                return false;
            }
        }

        list = networks.Count == 0 ? LoopbackOnly : new ClientAllowList([.. networks]);
        error = null;
        return true;
    }

    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the rule is written in IPv4.
    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

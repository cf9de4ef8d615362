using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.AspNetCore.Http;

namespace Vmci.Tool;

/// <summary>What a request's Host header makes of it, see <see cref="GatewayHosts.Match"/>.</summary>
internal enum GatewayHostKind
{
    /// <summary><c>localhost</c>, <c>127.0.0.1</c> or <c>[::1]</c>: the gateway's own pages.</summary>
    Gateway,

    /// <summary><c>LABEL.localhost</c> of a known guest: proxied to that guest.</summary>
    Guest,

    /// <summary><c>LABEL.localhost</c> that no guest has: 404.</summary>
    UnknownGuest,

    /// <summary>Any other name (<c>cid-3.evil.example</c>, a DNS-rebinding attacker's name): 421.</summary>
    Foreign,

    /// <summary>No Host at all (HTTP/1.0): 400.</summary>
    Missing,
}

/// <summary>The result of <see cref="GatewayHosts.Match"/>: the kind, and the guest or the label asked for.</summary>
internal readonly record struct GatewayHostMatch(GatewayHostKind Kind, GatewayGuest? Guest = null, string? Label = null);

/// <summary>
/// Routing on the Host header: each guest is its own origin, <c>http://LABEL.localhost:PORT/</c>, so the same-origin
/// policy keeps one guest's scripts out of another guest's pages (and out of the gateway's). Browsers resolve
/// <c>*.localhost</c> to loopback themselves. Only loopback names are accepted: a page on another name that
/// resolves to 127.0.0.1 (DNS rebinding) gets no answer from a guest. The port is not checked, so the gateway
/// works behind a port forward; origins differ by host name alone.
/// </summary>
internal sealed class GatewayHosts
{
    private const string LocalhostSuffix = ".localhost";
    private static readonly string[] GatewayNames = ["localhost", "127.0.0.1", "[::1]"];

    private readonly Dictionary<string, GatewayGuest> _byLabel;
    private readonly Dictionary<string, GatewayGuest> _byPathId;

    public GatewayHosts(IReadOnlyList<GatewayGuest> guests)
    {
        _byLabel = guests.ToDictionary(g => g.Label, StringComparer.OrdinalIgnoreCase);
        _byPathId = guests.ToDictionary(g => g.PathId, StringComparer.OrdinalIgnoreCase);
    }

    public GatewayHostMatch Match(HostString host)
    {
        string name = host.HasValue ? host.Host : "";
        if (name.Length == 0)
        {
            return new(GatewayHostKind.Missing);
        }

        if (GatewayNames.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return new(GatewayHostKind.Gateway);
        }

        if (name.Length > LocalhostSuffix.Length && name.EndsWith(LocalhostSuffix, StringComparison.OrdinalIgnoreCase))
        {
            // Exact labels only: cid-03 or x.cid-3 would be further origins of one guest, and origins are the point.
            string label = name[..^LocalhostSuffix.Length];
            return _byLabel.TryGetValue(label, out GatewayGuest? guest) ? new(GatewayHostKind.Guest, guest, label) : new(GatewayHostKind.UnknownGuest, null, label);
        }

        return new(GatewayHostKind.Foreign, null, name);
    }

    /// <summary>The guest that <c>/vm/ID/</c> names (a CID or a --guest name), or null.</summary>
    public GatewayGuest? FindByPathId(string id) => _byPathId.GetValueOrDefault(id);

    /// <summary>The guest's origin as the browser reaches this gateway: same scheme and port, host LABEL.localhost.</summary>
    public static string OriginOf(GatewayGuest guest, HostString requestHost) => $"http://{guest.Label}{LocalhostSuffix}{PortOf(requestHost)}";

    /// <summary>The gateway's own origin, for links back from a guest's origin or from a rejected host.</summary>
    public static string GatewayOrigin(HostString requestHost) => $"http://localhost{PortOf(requestHost)}";

    private static string PortOf(HostString host) => host.Port is int port ? ":" + port.ToString(CultureInfo.InvariantCulture) : "";
}

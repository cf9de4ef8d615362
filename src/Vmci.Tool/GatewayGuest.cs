using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using Vmci.Kestrel;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// One guest behind the gateway: its name in <c>/vm/NAME/</c> (the CID, or the file name of a hybrid guest's
/// socket), the URL the proxy sends to, and the endpoint that URL's host stands for.
/// </summary>
internal sealed record GatewayGuest(string Name, string BaseUrl, uint? Cid, HybridVsockEndPoint? Hybrid)
{
    private const string HybridHostPrefix = "hvsock-";

    public static GatewayGuest ForCid(uint cid, uint port, bool toHost)
    {
        var endPoint = new VmciEndPoint(cid, port, toHost ? VmciEndPointFlags.ToHost : VmciEndPointFlags.None);
        return new(cid.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"http://{VmciHttp.CidHostName(endPoint)}:{port}/"), cid, null);
    }

    /// <summary>Names hybrid guests after their socket files (<c>fc-1.vsock</c>), made unique and URL-safe.</summary>
    public static IEnumerable<GatewayGuest> ForHybrid(IReadOnlyList<HybridVsockEndPoint> endPoints)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < endPoints.Count; i++)
        {
            string name = new(Path.GetFileName(endPoints[i].UdsPath).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '-').ToArray());
            // All digits would read as a CID.
            name = name.Length == 0 || name.All(char.IsAsciiDigit) ? $"vm-{name}" : name;
            string unique = name;
            for (int n = 2; !taken.Add(unique); n++)
            {
                unique = string.Create(CultureInfo.InvariantCulture, $"{name}-{n}");
            }

            yield return new(unique, string.Create(CultureInfo.InvariantCulture, $"http://{HybridHostPrefix}{i}/"), null, endPoints[i]);
        }
    }

    /// <summary>Maps the proxy's URL hosts back to endpoints: <c>hvsock-N</c> to the hybrid guests, <c>cid-N</c> as usual.</summary>
    public static Func<DnsEndPoint, EndPoint> Resolver(IReadOnlyList<GatewayGuest> guests)
    {
        Dictionary<string, EndPoint> hybrid = guests.Where(g => g.Hybrid is not null)
            .ToDictionary(g => new Uri(g.BaseUrl).Host, g => (EndPoint)g.Hybrid!, StringComparer.OrdinalIgnoreCase);
        return dns => hybrid.TryGetValue(dns.Host, out EndPoint? endPoint) ? endPoint : VmciHttp.ResolveCidHost(dns);
    }

    /// <summary>How pages name the guest of a <c>/vm/NAME/</c> segment.</summary>
    public static string Label(string name) => name.Length > 0 && name.All(char.IsAsciiDigit) ? $"CID {name}" : name;
}

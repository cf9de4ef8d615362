using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// HttpClient over vsock: a <see cref="SocketsHttpHandler.ConnectCallback"/> and ready handlers.
/// </summary>
/// <remarks>
/// Say where requests go in one of two ways:
/// <list type="bullet">
/// <item>a fixed endpoint: every request of the handler goes to that CID and port (a <see cref="VmciEndPoint"/>),
/// or to that guest port behind a Firecracker or Cloud Hypervisor VM's Unix socket (a <see cref="HybridVsockEndPoint"/>),
/// whatever the URL's host (which still becomes the Host header);</item>
/// <item>host mapping: the URL names the CID, <c>http://cid-3:8080/</c> goes to CID 3, port 8080
/// (also <c>cid-local</c> for 1 and <c>cid-host</c> for 2; <c>cid-3-to-host</c> sets
/// <see cref="VmciEndPointFlags.ToHost"/>); or pass your own resolver.</item>
/// </list>
/// </remarks>
public static class VmciHttp
{
    private const string CidHostPrefix = "cid-";
    private const string ToHostSuffix = "-to-host";

    /// <summary>
    /// A connect callback that sends every connection to <paramref name="endPoint"/>: a <see cref="VmciEndPoint"/>
    /// or a <see cref="HybridVsockEndPoint"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The endpoint says 'any', or is another kind.</exception>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectTo(EndPoint endPoint, VmciConnectionFactoryOptions? options = null)
    {
        VmciClientSocket.ThrowIfCannotConnectTo(endPoint);
        return ConnectWith(_ => endPoint, options);
    }

    /// <summary>
    /// A connect callback that maps the request's host and port to an endpoint with <paramref name="resolve"/>
    /// (null: <see cref="ResolveCidHost"/>, i.e. <c>http://cid-N:PORT/</c>).
    /// </summary>
    /// <remarks>
    /// A redirect's <c>Location</c> goes through <paramref name="resolve"/> too: with <see cref="ResolveCidHost"/> a
    /// server can send the request, with its headers, to any CID (another guest, the host). Set the handler's
    /// <see cref="SocketsHttpHandler.AllowAutoRedirect"/> to false, as <see cref="CreateHandler"/> does for host mapping,
    /// unless every server the resolver reaches is trusted.
    /// </remarks>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectWith(Func<DnsEndPoint, EndPoint>? resolve = null, VmciConnectionFactoryOptions? options = null)
    {
        resolve ??= ResolveCidHost;
        options ??= new VmciConnectionFactoryOptions();
        return async (context, cancellationToken) =>
        {
            EndPoint target = resolve(context.DnsEndPoint);
            Socket socket = await VmciClientSocket.ConnectAsync(target, options, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        };
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler"/> over vsock that sends every request to <paramref name="endPoint"/>
    /// (a <see cref="VmciEndPoint"/> or a <see cref="HybridVsockEndPoint"/>), or, when it is null, to the CID the
    /// URL names (<c>http://cid-N:PORT/</c>).
    /// </summary>
    /// <remarks>
    /// With host mapping (no <paramref name="endPoint"/>) redirects are not followed: the 3xx response comes back as
    /// it is. A guest's <c>Location: http://cid-host:9999/</c> or <c>http://cid-4:8080/</c> would otherwise send the
    /// request and its headers to a host service or another guest. Set <see cref="SocketsHttpHandler.AllowAutoRedirect"/>
    /// to follow them anyway. With a fixed endpoint every request, redirected or not, goes to that endpoint, so
    /// redirects are followed as HttpClient's default.
    /// </remarks>
    public static SocketsHttpHandler CreateHandler(EndPoint? endPoint = null, VmciConnectionFactoryOptions? options = null)
        => endPoint is null
            ? new() { ConnectCallback = ConnectWith(null, options), AllowAutoRedirect = false }
            : new() { ConnectCallback = ConnectTo(endPoint, options) };

    /// <summary>
    /// Maps a host of the form <c>cid-N</c> (also <c>cid-local</c>, <c>cid-host</c>, <c>cid-hypervisor</c>, and any of them followed by
    /// <c>-to-host</c> for <see cref="VmciEndPointFlags.ToHost"/>) and the request's port to a <see cref="VmciEndPoint"/>.
    /// </summary>
    /// <exception cref="HttpRequestException">The host names no CID; the message says how to write one.</exception>
    public static VmciEndPoint ResolveCidHost(DnsEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ReadOnlySpan<char> host = endPoint.Host;
        var flags = VmciEndPointFlags.None;
        if (host.EndsWith(ToHostSuffix, StringComparison.OrdinalIgnoreCase))
        {
            flags = VmciEndPointFlags.ToHost;
            host = host[..^ToHostSuffix.Length];
        }

        if (TryParseCidHost(host, out uint cid))
        {
            return new VmciEndPoint(cid, (uint)endPoint.Port, flags);
        }

        throw new HttpRequestException(HttpRequestError.NameResolutionError,
            $"The host '{endPoint.Host}' names no vsock CID: write the URL as http://cid-N:PORT/ (for example http://cid-3:8080/, or cid-local, cid-host; cid-3-to-host sets VMADDR_FLAG_TO_HOST), or give the handler a fixed endpoint or a resolver.");
    }

    /// <summary>
    /// The host name of a URL that <see cref="ResolveCidHost"/> maps back to <paramref name="endPoint"/>'s CID and
    /// flags (<c>cid-3</c>, <c>cid-2-to-host</c>), for building <c>http://cid-N:PORT/</c> URLs.
    /// </summary>
    public static string CidHostName(VmciEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return string.Create(CultureInfo.InvariantCulture, $"{CidHostPrefix}{endPoint.Cid}{((endPoint.Flags & VmciEndPointFlags.ToHost) != 0 ? ToHostSuffix : "")}");
    }

    private static bool TryParseCidHost(ReadOnlySpan<char> host, out uint cid)
    {
        cid = 0;
        if (!host.StartsWith(CidHostPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        ReadOnlySpan<char> rest = host[CidHostPrefix.Length..];
        if (VmciCid.TryParseName(rest, out cid))
        {
            return true;
        }

        return !rest.IsEmpty && char.IsAsciiDigit(rest[0])
            && uint.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out cid)
            && cid != VmciCid.Any;
    }
}

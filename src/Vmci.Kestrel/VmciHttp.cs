using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// HttpClient over vsock: a <see cref="SocketsHttpHandler.ConnectCallback"/> and ready handlers.
/// </summary>
/// <remarks>
/// Say where requests go in one of two ways:
/// <list type="bullet">
/// <item>a fixed endpoint: every request of the handler goes to that CID and port, whatever the URL's host
/// (which still becomes the Host header);</item>
/// <item>host mapping: the URL names the CID, <c>http://cid-3:8080/</c> goes to CID 3, port 8080
/// (also <c>cid-local</c> for 1 and <c>cid-host</c> for 2); or pass your own resolver.</item>
/// </list>
/// </remarks>
public static class VmciHttp
{
    private const string CidHostPrefix = "cid-";

    /// <summary>A connect callback that sends every connection to <paramref name="endPoint"/>.</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectTo(VmciEndPoint endPoint, VmciConnectionFactoryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (endPoint.Cid == VmciCid.Any || endPoint.Port == VmciPort.Any)
        {
            throw new ArgumentException($"Cannot connect to {endPoint}: 'any' is for binding; name the CID and port of the server.", nameof(endPoint));
        }

        return ConnectWith(_ => endPoint, options);
    }

    /// <summary>
    /// A connect callback that maps the request's host and port to an endpoint with <paramref name="resolve"/>
    /// (null: <see cref="ResolveCidHost"/>, i.e. <c>http://cid-N:PORT/</c>).
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectWith(Func<DnsEndPoint, VmciEndPoint>? resolve = null, VmciConnectionFactoryOptions? options = null)
    {
        resolve ??= ResolveCidHost;
        options ??= new VmciConnectionFactoryOptions();
        return async (context, cancellationToken) =>
        {
            VmciEndPoint target = resolve(context.DnsEndPoint);
            Socket socket = await VmciClientSocket.ConnectAsync(target, options, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        };
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler"/> over vsock that sends every request to <paramref name="endPoint"/>,
    /// or, when it is null, to the CID the URL names (<c>http://cid-N:PORT/</c>).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(VmciEndPoint? endPoint = null, VmciConnectionFactoryOptions? options = null)
        => new() { ConnectCallback = endPoint is null ? ConnectWith(null, options) : ConnectTo(endPoint, options) };

    /// <summary>
    /// Maps a host of the form <c>cid-N</c> (also <c>cid-local</c>, <c>cid-host</c>) and the request's
    /// port to a <see cref="VmciEndPoint"/>.
    /// </summary>
    /// <exception cref="HttpRequestException">The host names no CID; the message says how to write one.</exception>
    public static VmciEndPoint ResolveCidHost(DnsEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (TryParseCidHost(endPoint.Host, out uint cid))
        {
            return new VmciEndPoint(cid, (uint)endPoint.Port);
        }

        throw new HttpRequestException(HttpRequestError.NameResolutionError,
            $"The host '{endPoint.Host}' names no vsock CID: write the URL as http://cid-N:PORT/ (for example http://cid-3:8080/, or cid-local, cid-host), or give the handler a fixed VmciEndPoint or a resolver.");
    }

    private static bool TryParseCidHost(string host, out uint cid)
    {
        cid = 0;
        if (!host.StartsWith(CidHostPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        ReadOnlySpan<char> rest = host.AsSpan(CidHostPrefix.Length);
        if (rest.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            cid = VmciCid.Local;
            return true;
        }

        if (rest.Equals("host", StringComparison.OrdinalIgnoreCase))
        {
            cid = VmciCid.Host;
            return true;
        }

        return !rest.IsEmpty && char.IsAsciiDigit(rest[0])
            && uint.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out cid)
            && cid != VmciCid.Any;
    }
}

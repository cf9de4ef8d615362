using System;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>Kestrel's address text of a vsock listener (<c>IServerAddressesFeature</c>, "Now listening on").</summary>
internal static class VmciServerAddress
{
    /// <summary>
    /// Reads back an address that Kestrel reports for a vsock listener: the scheme, <c>://</c>, then the endpoint's
    /// text, as Kestrel writes every endpoint that is not IP, Unix or pipe (<c>http://vsock://any:8080</c>,
    /// <c>https://vsock://3:8443</c>, <c>http://hvsock:///run/fc-1.vsock:9000</c>).
    /// </summary>
    /// <returns>False for addresses of other transports (<c>http://127.0.0.1:5000</c>, <c>http://unix:/tmp/s</c>).</returns>
    internal static bool TryParse([NotNullWhen(true)] string? address, [NotNullWhen(true)] out EndPoint? endPoint)
    {
        endPoint = null;
        if (address is null)
        {
            return false;
        }

        int separator = address.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return false;
        }

        ReadOnlySpan<char> scheme = address.AsSpan(0, separator);
        if (!scheme.Equals("http", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return VmciEndPointParser.TryParse(address[(separator + 3)..], out endPoint, out _);
    }
}

using System;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Vmci.Native;

/// <summary>
/// The one parser of every endpoint text the library knows, for configuration and command lines that take
/// either kind: <see cref="VmciEndPoint"/> (<c>vsock://CID:PORT</c>, <c>vsock://CID:PORT?to-host</c>,
/// <c>vsock:CID:PORT</c>, <c>CID:PORT</c>) and <see cref="HybridVsockEndPoint"/> (<c>hvsock:///PATH:PORT</c>).
/// </summary>
public static class VmciEndPoints
{
    /// <summary>Parses a vsock or hybrid vsock endpoint.</summary>
    /// <returns>A <see cref="VmciEndPoint"/> or a <see cref="HybridVsockEndPoint"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="s"/> is neither; the message says what is wrong.</exception>
    public static EndPoint Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return VmciEndPointParser.TryParseAny(s, out EndPoint? endPoint, out string? error) ? endPoint : throw new FormatException(error);
    }

    /// <summary>Parses like <see cref="Parse(string)"/> without throwing; <paramref name="error"/> says why it failed.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, [NotNullWhen(true)] out EndPoint? result, [NotNullWhen(false)] out string? error)
    {
        if (s is null)
        {
            result = null;
            error = "No endpoint was given: expected vsock://CID:PORT or hvsock:///PATH:PORT.";
            return false;
        }

        return VmciEndPointParser.TryParseAny(s, out result, out error);
    }

    /// <summary>
    /// Reads back an address that Kestrel reports for a vsock listener (<c>IServerAddressesFeature</c>, "Now listening
    /// on"): the scheme, <c>://</c>, then the endpoint's text, as Kestrel writes every endpoint that is not IP, Unix or
    /// pipe (<c>http://vsock://any:8080</c>, <c>https://vsock://3:8443</c>, <c>http://hvsock:///run/fc-1.vsock:9000</c>).
    /// </summary>
    /// <returns>False for addresses of other transports (<c>http://127.0.0.1:5000</c>, <c>http://unix:/tmp/s</c>).</returns>
    public static bool TryParseServerAddress([NotNullWhen(true)] string? address, [NotNullWhen(true)] out EndPoint? endPoint)
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

        return VmciEndPointParser.TryParseAny(address.AsSpan(separator + 3), out endPoint, out _);
    }
}

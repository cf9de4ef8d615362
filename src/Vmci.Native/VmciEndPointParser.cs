using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Vmci.Native;

/// <summary>
/// The one parser of every endpoint text the library knows, for configuration and command lines that take
/// either kind: <see cref="VmciEndPoint"/> (<c>vsock://CID:PORT</c>, <c>vsock://CID:PORT?to-host</c>,
/// <c>vsock:CID:PORT</c>, <c>CID:PORT</c>) and <see cref="HybridVsockEndPoint"/> (<c>hvsock:///PATH:PORT</c>).
/// Every failure says what is wrong.
/// </summary>
public static class VmciEndPointParser
{
    /// <summary>Parses a vsock or hybrid vsock endpoint.</summary>
    /// <returns>A <see cref="VmciEndPoint"/> or a <see cref="HybridVsockEndPoint"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="s"/> is neither; the message says what is wrong.</exception>
    public static EndPoint Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return TryParseAny(s, out EndPoint? endPoint, out string? error) ? endPoint : throw new FormatException(error);
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

        return TryParseAny(s, out result, out error);
    }

    /// <summary>
    /// Parses like <see cref="TryParse(string?, out EndPoint?, out string?)"/> and accepts only an endpoint that can
    /// be connected to (<see cref="CanConnectTo"/>), for command lines and settings that name a server.
    /// </summary>
    public static bool TryParseRemote([NotNullWhen(true)] string? s, [NotNullWhen(true)] out EndPoint? result, [NotNullWhen(false)] out string? error)
    {
        if (!TryParse(s, out result, out error))
        {
            return false;
        }

        if (!CanConnectTo(result, out error))
        {
            result = null;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Whether a client can connect to <paramref name="endPoint"/>: a <see cref="HybridVsockEndPoint"/>, or a
    /// <see cref="VmciEndPoint"/> that names its CID and port (<c>any</c> is for binding).
    /// </summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <param name="reason">Why not, naming the endpoint and the fix; null when it can.</param>
    public static bool CanConnectTo(EndPoint endPoint, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        reason = endPoint switch
        {
            VmciEndPoint { Cid: VmciCid.Any } or VmciEndPoint { Port: VmciPort.Any } => $"Cannot connect to {endPoint}: 'any' is for binding; name the CID and port of the server.",
            VmciEndPoint or HybridVsockEndPoint => null,
            _ => $"The vsock client connects to VmciEndPoint (vsock://CID:PORT) and HybridVsockEndPoint (hvsock:///PATH:PORT) only, not {endPoint.GetType().Name} {endPoint}.",
        };
        return reason is null;
    }

    /// <summary>The query that sets <see cref="VmciEndPointFlags.ToHost"/>: <c>vsock://CID:PORT?to-host</c>.</summary>
    internal const string ToHostOption = "to-host";

    private const string Expected =
        "expected vsock://CID:PORT (or vsock:CID:PORT, or CID:PORT), optionally followed by ?to-host, where CID is a number from 0 to 4294967295, 'any' (-1), 'local', 'host' or 'hypervisor', and PORT is a number from 0 to 4294967295 or 'any' (-1)";

    private const string HybridPrefix = HybridVsockEndPoint.Scheme + "://";

    private const string ExpectedHybrid =
        "expected hvsock:///PATH:PORT where PATH is the absolute path of the VM's vsock Unix socket (uds_path) and PORT a number from 0 to 4294967294, for example hvsock:///run/fc-1.vsock:8080";

    /// <summary>Any endpoint: <c>hvsock://</c> texts become <see cref="HybridVsockEndPoint"/>s, the rest <see cref="VmciEndPoint"/>s.</summary>
    internal static bool TryParseAny(ReadOnlySpan<char> s, [NotNullWhen(true)] out EndPoint? result, [NotNullWhen(false)] out string? error)
    {
        if (s.StartsWith(HybridPrefix, StringComparison.OrdinalIgnoreCase))
        {
            bool parsed = TryParseHybrid(s, out HybridVsockEndPoint? hybrid, out error);
            result = hybrid;
            return parsed;
        }

        bool ok = TryParseVsock(s, out VmciEndPoint? vsock, out error);
        result = vsock;
        return ok;
    }

    internal static bool TryParseVsock(ReadOnlySpan<char> s, [NotNullWhen(true)] out VmciEndPoint? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (s.StartsWith(HybridPrefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{s}' is a hybrid vsock endpoint (a VM's Unix socket), not an AF_VSOCK one: use HybridVsockEndPoint, or VmciEndPointParser.Parse for either kind.";
            return false;
        }

        ReadOnlySpan<char> rest = s;
        var flags = VmciEndPointFlags.None;
        int question = rest.IndexOf('?');
        if (question >= 0)
        {
            ReadOnlySpan<char> option = rest[(question + 1)..];
            if (!option.Equals(ToHostOption, StringComparison.OrdinalIgnoreCase))
            {
                error = $"'{s}' is not a vsock endpoint: the option '{option}' is unknown (the only one is ?{ToHostOption}, VMADDR_FLAG_TO_HOST); {Expected}.";
                return false;
            }

            flags = VmciEndPointFlags.ToHost;
            rest = rest[..question];
        }

        if (rest.StartsWith("vsock://", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["vsock://".Length..];
        }
        else if (rest.StartsWith("vsock:", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest["vsock:".Length..];
        }

        int colon = rest.LastIndexOf(':');
        if (rest.IsEmpty || colon < 0)
        {
            error = $"'{s}' is not a vsock endpoint: {Expected}.";
            return false;
        }

        ReadOnlySpan<char> cidText = rest[..colon];
        ReadOnlySpan<char> portText = rest[(colon + 1)..];
        if (!TryParseCid(cidText, out uint cid))
        {
            error = $"'{s}' is not a vsock endpoint: the CID '{cidText}' is {Describe(cidText)}; {Expected}.";
            return false;
        }

        if (!TryParseNumberOrAny(portText, VmciPort.Any, out uint port))
        {
            error = $"'{s}' is not a vsock endpoint: the port '{portText}' is {Describe(portText)}; {Expected}.";
            return false;
        }

        result = new VmciEndPoint(cid, port, flags);
        error = null;
        return true;
    }

    private static bool TryParseHybrid(ReadOnlySpan<char> s, [NotNullWhen(true)] out HybridVsockEndPoint? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        ReadOnlySpan<char> rest = s[HybridPrefix.Length..];
        int colon = rest.LastIndexOf(':');
        if (rest.IsEmpty || rest[0] != '/' || colon < 0)
        {
            error = $"'{s}' is not a hybrid vsock endpoint: {(rest.IsEmpty || rest[0] != '/' ? "the path is not absolute (three slashes: hvsock:// then /PATH)" : "the port is missing")}; {ExpectedHybrid}.";
            return false;
        }

        ReadOnlySpan<char> path = rest[..colon];
        ReadOnlySpan<char> portText = rest[(colon + 1)..];
        if (path.Length < 2 || path[^1] == '/' || path.Contains('\0'))
        {
            error = $"'{s}' is not a hybrid vsock endpoint: the path '{path}' names no socket file; {ExpectedHybrid}.";
            return false;
        }

        bool isNumber = TryParseNumberOrAny(portText, VmciPort.Any, out uint port);
        if (!isNumber || port == VmciPort.Any)
        {
            string why = isNumber ? "'any' (4294967295) and has no meaning for a hybrid endpoint" : Describe(portText);
            error = $"'{s}' is not a hybrid vsock endpoint: the port '{portText}' is {why}; {ExpectedHybrid}.";
            return false;
        }

        result = new HybridVsockEndPoint(path.ToString(), port);
        error = null;
        return true;
    }

    internal static bool TryParseCid(ReadOnlySpan<char> text, out uint cid)
        => VmciCid.TryParseName(text, out cid) || TryParseNumberOrAny(text, VmciCid.Any, out cid);

    internal static bool TryParseNumberOrAny(ReadOnlySpan<char> text, uint any, out uint value)
    {
        if (text.Equals("any", StringComparison.OrdinalIgnoreCase) || text.SequenceEqual("-1"))
        {
            value = any;
            return true;
        }

        // Digits only: no sign, no white space, no thousands separators, no hex.
        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                value = 0;
                return false;
            }
        }

        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    internal static string Describe(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return "empty";
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return "not a number";
            }
        }

        return "out of range";
    }
}

using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Vmci.Native;

/// <summary>
/// The text forms of every endpoint: <see cref="VmciEndPoint"/> and <see cref="HybridVsockEndPoint"/>. The one
/// place endpoint text is read; every failure says what is wrong.
/// </summary>
internal static class VmciEndPointParser
{
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

        bool ok = TryParse(s, out VmciEndPoint? vsock, out error);
        result = vsock;
        return ok;
    }

    internal static bool TryParse(ReadOnlySpan<char> s, [NotNullWhen(true)] out VmciEndPoint? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (s.StartsWith(HybridPrefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{s}' is a hybrid vsock endpoint (a VM's Unix socket), not an AF_VSOCK one: use HybridVsockEndPoint, or VmciEndPoints.Parse for either kind.";
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
    {
        if (text.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            cid = VmciCid.Local;
            return true;
        }

        if (text.Equals("host", StringComparison.OrdinalIgnoreCase))
        {
            cid = VmciCid.Host;
            return true;
        }

        if (text.Equals("hypervisor", StringComparison.OrdinalIgnoreCase))
        {
            cid = VmciCid.Hypervisor;
            return true;
        }

        return TryParseNumberOrAny(text, VmciCid.Any, out cid);
    }

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

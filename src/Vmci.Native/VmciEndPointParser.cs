using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Vmci.Native;

/// <summary>The text forms of <see cref="VmciEndPoint"/>; every failure says what is wrong.</summary>
internal static class VmciEndPointParser
{
    private const string Expected =
        "expected vsock://CID:PORT (or vsock:CID:PORT, or CID:PORT) where CID is a number from 0 to 4294967295, 'any' (-1), 'local', 'host' or 'hypervisor', and PORT is a number from 0 to 4294967295 or 'any' (-1)";

    internal static bool TryParse(ReadOnlySpan<char> s, [NotNullWhen(true)] out VmciEndPoint? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        ReadOnlySpan<char> rest = s;
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

        result = new VmciEndPoint(cid, port);
        error = null;
        return true;
    }

    private static bool TryParseCid(ReadOnlySpan<char> text, out uint cid)
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

    private static bool TryParseNumberOrAny(ReadOnlySpan<char> text, uint any, out uint value)
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

    private static string Describe(ReadOnlySpan<char> text)
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

using System;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// A guest behind <c>vmci gateway</c>: its own browser origin, <c>http://LABEL.localhost:PORT/</c>, and the vsock
/// endpoint of its web server. <c>--guests 3</c> gives label <c>cid-3</c> (path id <c>3</c>);
/// <c>--guest web=vsock://3:8080</c> gives label and path id <c>web</c>.
/// </summary>
internal sealed record GatewayGuest(string Label, string PathId, VmciEndPoint EndPoint)
{
    /// <summary>The label prefix of guests named by CID; reserved, so a named guest cannot take a CID's origin.</summary>
    public const string CidLabelPrefix = "cid-";

    /// <summary>Named by CID (<c>--guests</c>) rather than by a <c>--guest</c> name.</summary>
    public bool IsCid => Label.StartsWith(CidLabelPrefix, StringComparison.Ordinal);

    /// <summary>How the gateway names the guest on its pages and in its log.</summary>
    public string Title => IsCid ? $"CID {PathId}" : $"{Label} ({EndPoint})";

    public static GatewayGuest ForCid(uint cid, uint port)
        => new(CidLabelPrefix + cid.ToString(CultureInfo.InvariantCulture), cid.ToString(CultureInfo.InvariantCulture), new VmciEndPoint(cid, port));

    /// <summary>Parses <c>NAME=vsock://CID:PORT</c>; NAME is a DNS label that starts with a letter and is not <c>cid-...</c>.</summary>
    public static bool TryParseNamed(string text, [NotNullWhen(true)] out GatewayGuest? guest, [NotNullWhen(false)] out string? error)
    {
        guest = null;
        int equals = text.IndexOf('=', StringComparison.Ordinal);
        string name = equals < 0 ? "" : text[..equals].Trim().ToLowerInvariant();
        string target = equals < 0 ? "" : text[(equals + 1)..].Trim();
        if (!IsLabel(name) || name.StartsWith(CidLabelPrefix, StringComparison.Ordinal))
        {
            error = $"--guest '{text}': expected NAME=vsock://CID:PORT, where NAME (letters, digits, '-', starting with a letter, not 'cid-...') becomes the guest's origin http://NAME.localhost:PORT/";
            return false;
        }

        if (!VmciEndPoint.TryParse(target, out VmciEndPoint? endPoint) || endPoint.Cid == VmciCid.Any || endPoint.Port == VmciPort.Any)
        {
            error = $"--guest '{text}': '{target}' is not a vsock endpoint to connect to: expected vsock://CID:PORT, for example vsock://3:8080";
            return false;
        }

        guest = new GatewayGuest(name, name, endPoint);
        error = null;
        return true;
    }

    // A DNS label (RFC 1123) that cannot be read as a number, so /vm/NAME/ never looks like a CID.
    private static bool IsLabel(string name)
        => name.Length is > 0 and <= 63 && char.IsAsciiLetterLower(name[0]) && name[^1] != '-'
            && name.AsSpan().IndexOfAnyExcept(LabelChars) < 0;

    private static readonly SearchValues<char> LabelChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");
}

using System;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// A guest behind <c>vmci gateway</c>: its own browser origin, <c>http://LABEL.localhost:PORT/</c>, and the vsock
/// endpoint of its web server (a <see cref="VmciEndPoint"/>, or a <see cref="HybridVsockEndPoint"/> for a Firecracker
/// or Cloud Hypervisor guest). <c>--guests 3</c> gives label <c>cid-3</c> (path id <c>3</c>);
/// <c>--guests hvsock:///run/fc-1.vsock:8080</c> gives <c>run-fc-1-vsock</c>; <c>--guest web=vsock://3:8080</c> gives
/// label and path id <c>web</c>.
/// </summary>
internal sealed record GatewayGuest(string Label, string PathId, EndPoint EndPoint)
{
    private const int MaxLabelLength = 63;

    /// <summary>The label prefix of guests named by CID; reserved, so a named guest cannot take a CID's origin.</summary>
    public const string CidLabelPrefix = "cid-";

    /// <summary>Named by CID (<c>--guests</c>) rather than by a <c>--guest</c> name.</summary>
    public bool IsCid => Label.StartsWith(CidLabelPrefix, StringComparison.Ordinal);

    /// <summary>How the gateway names the guest on its pages and in its log.</summary>
    public string Title => IsCid ? $"CID {PathId}" : $"{Label} ({EndPoint})";

    /// <summary>The guest's CID, for the guests API; null for a hybrid vsock guest.</summary>
    public uint? Cid => (EndPoint as VmciEndPoint)?.Cid;

    public static GatewayGuest ForCid(uint cid, uint port, bool toHost)
        => new(CidLabelPrefix + cid.ToString(CultureInfo.InvariantCulture), cid.ToString(CultureInfo.InvariantCulture),
            new VmciEndPoint(cid, port, toHost ? VmciEndPointFlags.ToHost : VmciEndPointFlags.None));

    /// <summary>
    /// Names a hybrid guest after its whole socket path (<c>/run/fc-1.vsock</c> becomes <c>run-fc-1-vsock</c>), so
    /// that the guest keeps its origin, and with it its cookies and storage, whatever the command line's order.
    /// A path too long for a DNS label keeps its end and gains a hash of the whole path.
    /// </summary>
    public static GatewayGuest ForHybrid(HybridVsockEndPoint endPoint)
    {
        string label = LabelOfPath(endPoint.UdsPath);
        return new GatewayGuest(label, label, endPoint);
    }

    internal static string LabelOfPath(string path)
    {
        var name = new StringBuilder(path.Length);
        foreach (char c in path.ToLowerInvariant())
        {
            bool keep = char.IsAsciiLetterOrDigit(c);
            if (keep || (name.Length > 0 && name[^1] != '-'))
            {
                name.Append(keep ? c : '-');
            }
        }

        string label = name.ToString().TrimEnd('-');
        // A label starts with a letter, and cid-... belongs to the guests named by CID.
        if (label.Length == 0 || !char.IsAsciiLetterLower(label[0]) || label.StartsWith(CidLabelPrefix, StringComparison.Ordinal))
        {
            label = $"vm-{label}".TrimEnd('-');
        }

        if (label.Length > MaxLabelLength)
        {
            string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(path)))[..8];
            label = $"vm-{hash}-{label[^(MaxLabelLength - 12)..].TrimStart('-')}";
        }

        return label;
    }

    /// <summary>Parses <c>NAME=vsock://CID:PORT</c>; NAME is a DNS label that starts with a letter and is not <c>cid-...</c>.</summary>
    public static bool TryParseNamed(string text, [NotNullWhen(true)] out GatewayGuest? guest, [NotNullWhen(false)] out string? error)
    {
        guest = null;
        int equals = text.IndexOf('=', StringComparison.Ordinal);
        string name = equals < 0 ? "" : text[..equals].Trim().ToLowerInvariant();
        string target = equals < 0 ? "" : text[(equals + 1)..].Trim();
        if (!IsLabel(name) || name.StartsWith(CidLabelPrefix, StringComparison.Ordinal))
        {
            error = $"--guest '{text}': expected NAME=vsock://CID:PORT (or NAME=hvsock:///SOCKET:PORT), where NAME (letters, digits, '-', starting with a letter, not 'cid-...') becomes the guest's origin http://NAME.localhost:PORT/";
            return false;
        }

        if (!VmciEndPointParser.TryParseRemote(target, out EndPoint? endPoint, out _))
        {
            error = $"--guest '{text}': '{target}' is not a vsock endpoint to connect to: expected vsock://CID:PORT or hvsock:///SOCKET:PORT, for example vsock://3:8080";
            return false;
        }

        guest = new GatewayGuest(name, name, endPoint);
        error = null;
        return true;
    }

    // A DNS label (RFC 1123) that cannot be read as a number, so /vm/NAME/ never looks like a CID.
    private static bool IsLabel(string name)
        => name.Length is > 0 and <= MaxLabelLength && char.IsAsciiLetterLower(name[0]) && name[^1] != '-'
            && name.AsSpan().IndexOfAnyExcept(LabelChars) < 0;

    private static readonly SearchValues<char> LabelChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");
}

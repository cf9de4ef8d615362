using System;
using System.Diagnostics.CodeAnalysis;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// <c>vsock://CID:PORT/path?query</c>: an endpoint and a request target. Parsed here rather than by
/// <see cref="Uri"/>, which stops ports at 65535 while vsock ports go to 4294967295.
/// </summary>
internal sealed record VsockUrl(VmciEndPoint EndPoint, string PathAndQuery)
{
    public static bool TryParse(string text, [NotNullWhen(true)] out VsockUrl? url, [NotNullWhen(false)] out string? error)
    {
        url = null;
        if (!text.StartsWith("vsock://", StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{text}' is not a vsock URL: expected vsock://CID:PORT/path, for example vsock://3:8080/api/status";
            return false;
        }

        int slash = text.IndexOf('/', "vsock://".Length);
        string authority = slash < 0 ? text : text[..slash];
        string path = slash < 0 ? "/" : text[slash..];
        try
        {
            VmciEndPoint endPoint = VmciEndPoint.Parse(authority);
            if (endPoint.Cid == VmciCid.Any || endPoint.Port == VmciPort.Any)
            {
                error = $"'{text}': 'any' is for listening; name the CID and port to connect to";
                return false;
            }

            url = new VsockUrl(endPoint, path);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return false;
        }
    }
}

using System;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// <c>vsock://CID:PORT/path?query</c> or <c>hvsock:///SOCKET:PORT/path?query</c>: an endpoint and a request
/// target. Parsed here rather than by <see cref="Uri"/>, which stops ports at 65535 while vsock ports go to
/// 4294967295; the endpoint part goes through the library's one endpoint parser.
/// </summary>
internal sealed record VsockUrl(EndPoint EndPoint, string PathAndQuery)
{
    private const string Expected = "expected vsock://CID:PORT/path or hvsock:///SOCKET:PORT/path, for example vsock://3:8080/api/status or hvsock:///run/fc-1.vsock:8080/api/status";

    public static bool TryParse(string text, [NotNullWhen(true)] out VsockUrl? url, [NotNullWhen(false)] out string? error)
    {
        url = null;
        int end;
        if (text.StartsWith("vsock://", StringComparison.OrdinalIgnoreCase))
        {
            end = text.IndexOf('/', "vsock://".Length);
        }
        else if (text.StartsWith("hvsock://", StringComparison.OrdinalIgnoreCase))
        {
            // The socket path has slashes of its own: it ends at the first ":PORT" that a '/' (or the end) follows.
            end = HybridEnd(text);
        }
        else
        {
            error = $"'{text}' is not a vsock URL: {Expected}";
            return false;
        }

        string authority = end < 0 ? text : text[..end];
        string path = end < 0 ? "/" : text[end..];
        if (!VmciEndPointParser.TryParseRemote(authority, out EndPoint? endPoint, out error))
        {
            return false;
        }

        url = new VsockUrl(endPoint, path);
        return true;
    }

    private static int HybridEnd(string text)
    {
        for (int colon = text.IndexOf(':', "hvsock://".Length); colon >= 0; colon = text.IndexOf(':', colon + 1))
        {
            int i = colon + 1;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i > colon + 1 && (i == text.Length || text[i] == '/'))
            {
                return i == text.Length ? -1 : i;
            }
        }

        return -1;
    }
}

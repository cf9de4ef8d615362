using System;
using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Vmci.Tool;

internal static class TcpAddress
{
    /// <summary>IP:PORT with the port written out (0 asks for any free port); "127.0.0.1" alone is refused.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        int colon = text.LastIndexOf(':');
        return colon > 0 && colon < text.Length - 1 && text[^1] != ']' && IPEndPoint.TryParse(text, out endPoint);
    }
}

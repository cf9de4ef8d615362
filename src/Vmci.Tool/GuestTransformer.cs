using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Vmci.Tool;

/// <summary>
/// How the gateway passes requests to a guest and answers back: headers as they are, the browser's Host
/// (<c>cid-3.localhost:8080</c>, so that a guest's absolute links and redirects point at its own origin), and
/// every cookie a guest sets made host-only: a <c>Domain</c> attribute (<c>Domain=localhost</c>) would share the
/// cookie with the gateway and every other guest, so it is removed.
/// </summary>
internal sealed class GuestTransformer : HttpTransformer
{
    public static readonly GuestTransformer Instance = new();

    private GuestTransformer()
    {
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        bool proceed = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        StringValues cookies = httpContext.Response.Headers.SetCookie;
        if (cookies.Count > 0)
        {
            httpContext.Response.Headers.SetCookie = new StringValues(cookies.Select(c => HostOnly(c ?? "")).ToArray());
        }

        return proceed;
    }

    /// <summary>A Set-Cookie value without its Domain attributes; everything else as it was.</summary>
    internal static string HostOnly(string setCookie)
        => string.Join(';', setCookie.Split(';').Where((part, i) => i == 0 || !IsDomainAttribute(part))); // [0] is NAME=VALUE

    private static bool IsDomainAttribute(string part)
    {
        ReadOnlySpan<char> name = part.AsSpan().Trim();
        int equals = name.IndexOf('=');
        return (equals < 0 ? name : name[..equals]).TrimEnd().Equals("domain", StringComparison.OrdinalIgnoreCase);
    }
}

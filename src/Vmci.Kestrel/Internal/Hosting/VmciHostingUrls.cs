using System;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Keeps <c>ASPNETCORE_URLS</c> / <c>--urls</c> serving when <c>Vmci:Urls</c> adds vsock endpoints.
/// </summary>
/// <remarks>
/// Kestrel serves the hosting URLs only while no endpoint is configured in code, and warns that it is
/// "overriding" them otherwise. Endpoints that come from the <c>Vmci</c> configuration section are
/// configuration to the user, not code, so dropping their TCP URLs would surprise: the URLs are listened on
/// here instead, the way Kestrel's own address binder would have (IP, localhost, any address, Unix socket;
/// https with the default certificate).
/// </remarks>
internal static class VmciHostingUrls
{
    internal static void Listen(KestrelServerOptions options, IConfiguration configuration)
    {
        if (configuration[WebHostDefaults.ServerUrlsKey] is not { Length: > 0 } urls
            || configuration[WebHostDefaults.PreferHostingUrlsKey] is { } prefer && bool.TryParse(prefer, out bool preferred) && preferred)
        {
            // PreferHostingUrls makes Kestrel serve the URLs itself (and ignore every other endpoint).
            return;
        }

        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Listen(options, url);
        }
    }

    private static void Listen(KestrelServerOptions options, string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"The hosting URL '{url}' ({WebHostDefaults.ServerUrlsKey}) is not valid: {ex.Message}", ex);
        }

        bool https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
        Action<ListenOptions> configure = https ? static l => l.UseHttps() : static _ => { };
        if (address.IsUnixPipe)
        {
            options.ListenUnixSocket(address.UnixPipePath, configure);
        }
        else if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            options.ListenLocalhost(address.Port, configure);
        }
        else if (IPAddress.TryParse(address.Host, out IPAddress? ip))
        {
            options.Listen(ip, address.Port, configure);
        }
        else
        {
            // "*", "+" or a host name: every address, as Kestrel does.
            options.ListenAnyIP(address.Port, configure);
        }
    }
}

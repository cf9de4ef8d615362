using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Keeps <c>ASPNETCORE_URLS</c> / <c>--urls</c> serving when <c>Vmci:Urls</c> adds vsock endpoints, where Kestrel
/// itself would have served them.
/// </summary>
/// <remarks>
/// Kestrel serves the hosting URLs only while no endpoint is configured (in code, in <c>Kestrel:Endpoints</c>, or
/// through its configuration loader), and warns that it is "overriding" them otherwise. Endpoints that come from
/// the <c>Vmci</c> configuration section are configuration to the user, not code, so dropping the TCP URLs for
/// them alone would surprise: then the URLs are listened on here instead, the way Kestrel's own address binder
/// would have (IP, localhost, any address, Unix socket; https with the default certificate). When the app
/// configured any other endpoint, Kestrel would drop the URLs, and so do we: an image's <c>http://+:80</c> must not
/// open port 80 on every interface beside endpoints the app chose. This runs after every other configuration (the
/// app's <c>ConfigureKestrel</c> included), when the endpoints are known.
/// </remarks>
internal sealed class VmciHostingUrls(IConfiguration configuration) : IPostConfigureOptions<KestrelServerOptions>
{
    private static readonly ConditionalWeakTable<ListenOptions, object> FromVmciConfiguration = new();
    private static readonly object Marker = new();

    /// <summary>Notes that <paramref name="listen"/> comes from <c>Vmci:Urls</c> or <c>Vmci:Endpoints</c>.</summary>
    internal static void MarkFromConfiguration(ListenOptions listen) => FromVmciConfiguration.AddOrUpdate(listen, Marker);

    public void PostConfigure(string? name, KestrelServerOptions options)
    {
        if (name != Options.DefaultName
            || configuration[WebHostDefaults.ServerUrlsKey] is not { Length: > 0 } urls
            || configuration[WebHostDefaults.PreferHostingUrlsKey] is { } prefer && bool.TryParse(prefer, out bool preferred) && preferred)
        {
            // PreferHostingUrls makes Kestrel serve the URLs itself (and ignore every other endpoint).
            return;
        }

        if (!OnlyVmciConfigurationEndpoints(options))
        {
            return;
        }

        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Listen(options, url);
        }
    }

    /// <summary>True when every endpoint so far came from the Vmci configuration, and there is at least one.</summary>
    private static bool OnlyVmciConfigurationEndpoints(KestrelServerOptions options)
    {
        List<ListenOptions> inCode;
        IList<Action>? loaderEndpoints;
        try
        {
            // Kestrel keeps its endpoints internal; these are the lists its own binder reads. Accessors, not
            // reflection, so Native AOT keeps them.
            inCode = CodeBackedListenOptions(options);
            loaderEndpoints = options.ConfigurationLoader is { } loader ? EndpointsToAdd(loader) : null;
        }
        catch (MissingMemberException)
        {
            // A Kestrel whose internals differ: we cannot tell, so do what Kestrel does with any endpoint in code.
            return false;
        }

        return inCode.Count > 0
            && inCode.All(l => FromVmciConfiguration.TryGetValue(l, out _))
            && loaderEndpoints is not { Count: > 0 }
            && options.ConfigurationLoader?.Configuration.GetSection("Endpoints").GetChildren().Any() != true;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_CodeBackedListenOptions")]
    private static extern List<ListenOptions> CodeBackedListenOptions(KestrelServerOptions options);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_EndpointsToAdd")]
    private static extern IList<Action> EndpointsToAdd(KestrelConfigurationLoader loader);

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

using System;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// Listens on the vsock endpoints the configuration names, with no code:
/// <c>Vmci:Urls</c> (<c>vsock://any:8080;vsock://any:8081</c>, HTTP/1.1 and HTTP/2 as Kestrel's default)
/// and <c>Vmci:Endpoints:NAME:Url</c> with an optional <c>Vmci:Endpoints:NAME:Protocols</c>
/// (<c>Http1</c>, <c>Http2</c>, <c>Http1AndHttp2</c>).
/// </summary>
internal sealed class VmciKestrelEndpointsSetup(IConfiguration configuration) : IConfigureOptions<KestrelServerOptions>
{
    internal const string UrlsKey = "Vmci:Urls";
    internal const string EndpointsKey = "Vmci:Endpoints";

    public void Configure(KestrelServerOptions options)
    {
        bool configured = false;
        if (configuration[UrlsKey] is { } urls)
        {
            configured = true;
            foreach (string url in urls.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                options.ListenVmci(ParseUrl(UrlsKey, url), static _ => { });
            }
        }

        foreach (IConfigurationSection endpoint in configuration.GetSection(EndpointsKey).GetChildren())
        {
            configured = true;
            string urlKey = $"{endpoint.Path}:Url";
            string url = endpoint["Url"] ?? throw new InvalidOperationException($"The setting {urlKey} is missing: every vsock endpoint needs a Url such as vsock://any:8080.");
            VmciEndPoint vmciEndPoint = ParseUrl(urlKey, url);
            HttpProtocols? protocols = ParseProtocols($"{endpoint.Path}:Protocols", endpoint["Protocols"]);
            options.ListenVmci(vmciEndPoint, listen =>
            {
                if (protocols is { } p)
                {
                    listen.Protocols = p;
                }
            });
        }

        if (configured)
        {
            VmciHostingUrls.Listen(options, configuration);
        }
    }

    private static VmciEndPoint ParseUrl(string key, string url)
    {
        try
        {
            return VmciEndPoint.Parse(url);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"The setting {key} is not valid: {ex.Message}", ex);
        }
    }

    private static HttpProtocols? ParseProtocols(string key, string? text)
    {
        if (text is null)
        {
            return null;
        }

        return text.Trim().ToUpperInvariant() switch
        {
            "HTTP1" => HttpProtocols.Http1,
            "HTTP2" => HttpProtocols.Http2,
            "HTTP1ANDHTTP2" => HttpProtocols.Http1AndHttp2,
            _ => throw new InvalidOperationException(
                $"The setting {key} = '{text}' is not valid: expected Http1, Http2 or Http1AndHttp2 (HTTP/3 needs UDP, which vsock streams are not)."),
        };
    }
}

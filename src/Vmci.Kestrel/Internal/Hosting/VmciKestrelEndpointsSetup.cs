using System;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Listens on the vsock endpoints the configuration names, with no code:
/// <c>Vmci:Urls</c> (<c>vsock://any:8080;vsock://any:8081</c>, HTTP/1.1 and HTTP/2 as Kestrel's default;
/// <c>hvsock:///run/fc-1.vsock:9000</c> listens at <c>/run/fc-1.vsock_9000</c> for a Firecracker or Cloud
/// Hypervisor guest's connections to the host's port 9000)
/// and <c>Vmci:Endpoints:NAME:Url</c> with an optional <c>Vmci:Endpoints:NAME:Protocols</c>
/// (<c>Http1</c>, <c>Http2</c>, <c>Http1AndHttp2</c>).
/// </summary>
internal sealed class VmciKestrelEndpointsSetup(IConfiguration configuration) : IConfigureOptions<KestrelServerOptions>
{
    internal const string UrlsKey = "Vmci:Urls";
    internal const string EndpointsKey = "Vmci:Endpoints";

    public void Configure(KestrelServerOptions options)
    {
        if (configuration[UrlsKey] is { } urls)
        {
            foreach (string url in urls.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                VmciKestrelListen.Listen(options, ParseUrl(UrlsKey, url), VmciHostingUrls.MarkFromConfiguration, UrlsKey);
            }
        }

        foreach (IConfigurationSection endpoint in configuration.GetSection(EndpointsKey).GetChildren())
        {
            string urlKey = $"{endpoint.Path}:Url";
            string url = endpoint["Url"] ?? throw new InvalidOperationException($"The setting {urlKey} is missing: every vsock endpoint needs a Url such as vsock://any:8080.");
            EndPoint listenOn = ParseUrl(urlKey, url);
            HttpProtocols? protocols = ParseProtocols($"{endpoint.Path}:Protocols", endpoint["Protocols"]);
            VmciKestrelListen.Listen(options, listenOn, listen =>
            {
                VmciHostingUrls.MarkFromConfiguration(listen);
                if (protocols is { } p)
                {
                    listen.Protocols = p;
                }
            }, urlKey);
        }
    }

    private static EndPoint ParseUrl(string key, string url)
        => VmciEndPointParser.TryParse(url, out EndPoint? endPoint, out string? error)
            ? endPoint
            : throw new InvalidOperationException($"The setting {key} is not valid: {error} (or hvsock:///PATH:PORT for a Firecracker or Cloud Hypervisor VM's vsock socket)");

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

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Encodings.Web;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vmci.Kestrel;
using Vmci.Native;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Vmci.Tool;

/// <summary>
/// <c>vmci gateway --listen 127.0.0.1:8080 --guests 3,4,5</c>: one host page for many guests; /vm/CID/... goes
/// to that guest's web server over vsock, through YARP with the vsock connect callback.
/// </summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "The TCP address to serve on", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var guests = new Option<string[]>("--guests") { Description = "The guests' CIDs, comma-separated or repeated: 3,4,5; or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest (served at /vm/SOCKET-FILE-NAME/)", Required = true };
        var guestPort = new Option<uint>("--guest-port") { Description = "The vsock port of each guest's web server", DefaultValueFactory = _ => 8080 };
        var timeout = new Option<double>("--connect-timeout") { Description = "Seconds to wait for a guest before answering 502", DefaultValueFactory = _ => 2 };
        var toHost = new Option<bool>("--to-host") { Description = "Send the CID guests' connections to the host for forwarding (VMADDR_FLAG_TO_HOST)" };
        var command = new Command("gateway", "Serve one page for many guests: /vm/CID/... is proxied to that guest's web server over vsock.")
        {
            listen, guests, guestPort, timeout, toHost,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!TcpAddress.TryParse(result.GetValue(listen)!, out IPEndPoint? listenOn))
            {
                Console.Error.WriteLine($"vmci gateway: --listen '{result.GetValue(listen)}' is not IP:PORT, for example 127.0.0.1:8080");
                return ExitCodes.Usage;
            }

            var cids = new SortedSet<uint>();
            var hybrid = new List<HybridVsockEndPoint>();
            foreach (string part in (result.GetValue(guests) ?? []).SelectMany(g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                if (part.StartsWith(HybridVsockEndPoint.Scheme + "://", StringComparison.OrdinalIgnoreCase))
                {
                    if (!VmciEndPoints.TryParse(part, out EndPoint? parsed, out string? why) || parsed is not HybridVsockEndPoint endPoint)
                    {
                        Console.Error.WriteLine($"vmci gateway: --guests '{part}' is not a hybrid vsock guest: {why}");
                        return ExitCodes.Usage;
                    }

                    hybrid.Add(endPoint);
                    continue;
                }

                if (!uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out uint cid) || cid == VmciCid.Any)
                {
                    Console.Error.WriteLine($"vmci gateway: --guests '{part}' is not a CID: expected whole numbers such as 3,4,5, or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest");
                    return ExitCodes.Usage;
                }

                cids.Add(cid);
            }

            uint port = result.GetValue(guestPort);
            if (port is 0 or > ushort.MaxValue)
            {
                // The proxy addresses guests with URLs, whose ports stop at 65535.
                Console.Error.WriteLine($"vmci gateway: --guest-port {port} must be from 1 to 65535");
                return ExitCodes.Usage;
            }

            double seconds = result.GetValue(timeout);
            if (seconds <= 0)
            {
                Console.Error.WriteLine("vmci gateway: --connect-timeout must be above 0 seconds");
                return ExitCodes.Usage;
            }

            bool toHostFlag = result.GetValue(toHost);
            IReadOnlyList<GatewayGuest> all = [.. cids.Select(cid => GatewayGuest.ForCid(cid, port, toHostFlag)), .. GatewayGuest.ForHybrid(hybrid)];
            WebApplication app = Build(listenOn, all, TimeSpan.FromSeconds(seconds));
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (System.IO.IOException ex)
            {
                Console.Error.WriteLine($"vmci gateway: cannot listen on {listenOn}: {ex.Message}");
                return ExitCodes.Failure;
            }

            string address = app.Urls.First();
            Console.Error.WriteLine($"vmci gateway: serving guests {string.Join(", ", all.Select(g => g.Name))} (vsock port {port}) on {address}/ (Ctrl-C stops)");
            await app.WaitForShutdownAsync(cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    internal static WebApplication Build(IPEndPoint listenOn, IReadOnlyList<GatewayGuest> guests, TimeSpan connectTimeout)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning)
            // The error page tells the browser what went wrong; a stack trace per failed request is noise.
            .AddFilter("Yarp", LogLevel.Error)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(listenOn));
        builder.Services.AddReverseProxy()
            .LoadFromMemory(
                guests.Select(guest => new RouteConfig
                {
                    RouteId = $"vm-{guest.Name}",
                    ClusterId = $"vm-{guest.Name}",
                    Match = new RouteMatch { Path = $"/vm/{guest.Name}/{{**rest}}" },
                    Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = $"/vm/{guest.Name}" }],
                }).ToArray(),
                guests.Select(guest => new ClusterConfig
                {
                    ClusterId = $"vm-{guest.Name}",
                    Destinations = new Dictionary<string, DestinationConfig> { ["guest"] = new() { Address = guest.BaseUrl } },
                }).ToArray())
            .ConfigureHttpClient((_, handler) =>
                handler.ConnectCallback = VmciHttp.ConnectWith(GatewayGuest.Resolver(guests), new VmciConnectionFactoryOptions { ConnectTimeout = connectTimeout }));
        builder.Services.AddHttpClient("guests", c => c.Timeout = connectTimeout + TimeSpan.FromSeconds(3))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                ConnectCallback = VmciHttp.ConnectWith(GatewayGuest.Resolver(guests), new VmciConnectionFactoryOptions { ConnectTimeout = connectTimeout }),
            });

        WebApplication app = builder.Build();
        // /vm/3 -> /vm/3/, so that the guest's relative links resolve below its prefix (routing would match both).
        app.Use((context, next) =>
        {
            string path = context.Request.Path.Value ?? "/";
            if (path.StartsWith("/vm/", StringComparison.Ordinal) && path.Count(c => c == '/') == 2 && path.Length > 4)
            {
                // The escaped form: a decoded path may hold characters a header cannot.
                context.Response.Redirect($"{context.Request.Path.ToUriComponent()}/{context.Request.QueryString}");
                return Task.CompletedTask;
            }

            return next(context);
        });
        string list = string.Join(", ", guests.Select(g => g.Name));
        app.MapGet("/", () => Results.Content(GatewayPages.Index(guests), "text/html; charset=utf-8"));
        app.MapGet("/api/guests", async (IHttpClientFactory factory, CancellationToken cancellationToken) =>
        {
            HttpClient client = factory.CreateClient("guests");
            var states = await Task.WhenAll(guests.Select(async guest =>
            {
                try
                {
                    // Any HTTP answer means the guest's server is up; /healthz just keeps the answer small.
                    using HttpResponseMessage response = await client.GetAsync($"{guest.BaseUrl}healthz", cancellationToken);
                    return new GuestState(guest.Name, guest.Cid, Reachable: true, $"/healthz answered {(int)response.StatusCode} {response.ReasonPhrase}");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return new GuestState(guest.Name, guest.Cid, Reachable: false, ex.InnerException?.Message ?? ex.Message);
                }
            }));
            return Results.Json(states, GatewayJsonContext.Default.GuestStateArray);
        });
        // Known CIDs match the proxy's literal routes first; anything else lands here.
        app.Map("/vm/{cid}/{**rest}", (HttpContext context, string cid) =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Results.Content(GatewayPages.Error(404, $"{GatewayGuest.Label(cid)} is not a guest of this gateway", $"The guests are {list}."), "text/html; charset=utf-8", statusCode: 404);
        });
        app.MapReverseProxy(proxy => proxy.Use(async (context, next) =>
        {
            await next();
            // A guest that is down or has no listener: say which and why, at once, instead of an empty 502.
            if (context.GetForwarderErrorFeature() is { } error && !context.Response.HasStarted)
            {
                string cid = context.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries)[1];
                string why = error.Exception?.InnerException?.Message ?? error.Exception?.Message ?? error.Error.ToString();
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.WriteAsync(GatewayPages.Error(context.Response.StatusCode, $"{GatewayGuest.Label(cid)} did not answer", why), context.RequestAborted);
            }
        }));
        return app;
    }
}

/// <summary>The gateway's own pages.</summary>
internal static class GatewayPages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Index(IEnumerable<GatewayGuest> guests) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>vmci gateway</title><link rel="icon" href="data:,">
        <style>body{font-family:system-ui,sans-serif;max-width:800px;margin:2rem auto;color:#1d2433}li{margin:.4rem 0}.up{color:#20bf6b}.down{color:#eb3b5a}</style></head>
        <body><h1>Guests behind this gateway</h1><p>Each link opens that guest's web server, reached over vsock.</p><ul>
        {{string.Concat(guests.Select(g => $"<li><a href=\"/vm/{Html.Encode(g.Name)}/\">{Html.Encode(GatewayGuest.Label(g.Name))}</a> <span id=\"guest-{Html.Encode(g.Name)}\">checking…</span></li>"))}}
        </ul>
        <script>
        fetch('/api/guests').then(r => r.json()).then(guests => guests.forEach(g => {
          const e = document.getElementById('guest-' + g.guest);
          e.textContent = g.reachable ? 'up' : 'down: ' + g.detail; e.className = g.reachable ? 'up' : 'down';
        }));
        </script></body></html>
        """;

    public static string Error(int status, string title, string detail) => $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{status} {Html.Encode(title)}</title><link rel="icon" href="data:,"></head>
        <body style="font-family:system-ui,sans-serif;max-width:800px;margin:2rem auto"><h1>{status}: {Html.Encode(title)}</h1><p>{Html.Encode(detail)}</p><p><a href="/">All guests</a></p></body></html>
        """;
}

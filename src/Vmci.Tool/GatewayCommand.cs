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
using Yarp.ReverseProxy.Forwarder;

namespace Vmci.Tool;

/// <summary>
/// <c>vmci gateway --listen 127.0.0.1:8080 --guests 3,4,5</c>: one host page for many guests, each guest on its own
/// origin <c>http://cid-N.localhost:8080/</c> (routed on the Host header, see <see cref="GatewayHosts"/>), proxied to
/// its web server over vsock by YARP's forwarder; <c>/vm/N/...</c> on the gateway's own host redirects there.
/// </summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "The TCP address to serve on", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var guests = new Option<string[]>("--guests") { Description = "The guests' CIDs, comma-separated or repeated: 3,4,5 (guest N is served at http://cid-N.localhost:PORT/); or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest (served at http://SOCKET-FILE-NAME.localhost:PORT/)" };
        var named = new Option<string[]>("--guest") { Description = "A named guest, repeatable: NAME=vsock://CID:PORT or NAME=hvsock:///SOCKET:PORT, served at http://NAME.localhost:PORT/" };
        var guestPort = new Option<uint>("--guest-port") { Description = "The vsock port of each guest's web server", DefaultValueFactory = _ => 8080 };
        var timeout = new Option<double>("--connect-timeout") { Description = "Seconds to wait for a guest before answering 502", DefaultValueFactory = _ => 2 };
        var toHost = new Option<bool>("--to-host") { Description = "Send the CID guests' connections to the host for forwarding (VMADDR_FLAG_TO_HOST)" };
        var command = new Command("gateway", "Serve one page for many guests, each on its own origin http://cid-N.localhost:PORT/, proxied to that guest's web server over vsock.")
        {
            listen, guests, named, guestPort, timeout, toHost,
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
                    if (!VmciEndPointParser.TryParse(part, out EndPoint? parsed, out string? why) || parsed is not HybridVsockEndPoint endPoint)
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
            if (port is 0 or VmciPort.Any)
            {
                Console.Error.WriteLine($"vmci gateway: --guest-port {port} is not a port to connect to");
                return ExitCodes.Usage;
            }

            bool toHostFlag = result.GetValue(toHost);
            List<GatewayGuest> all = [.. cids.Select(cid => GatewayGuest.ForCid(cid, port, toHostFlag)), .. GatewayGuest.ForHybrid(hybrid)];
            foreach (string text in result.GetValue(named) ?? [])
            {
                if (!GatewayGuest.TryParseNamed(text, out GatewayGuest? guest, out string? error))
                {
                    Console.Error.WriteLine($"vmci gateway: {error}");
                    return ExitCodes.Usage;
                }

                if (all.Any(g => g.Label == guest.Label))
                {
                    Console.Error.WriteLine($"vmci gateway: --guest {guest.Label} is given twice: each name is one origin");
                    return ExitCodes.Usage;
                }

                all.Add(guest);
            }

            if (all.Count == 0)
            {
                Console.Error.WriteLine("vmci gateway: no guests: give --guests 3,4,5 or --guest NAME=vsock://CID:PORT");
                return ExitCodes.Usage;
            }

            double seconds = result.GetValue(timeout);
            if (seconds <= 0)
            {
                Console.Error.WriteLine("vmci gateway: --connect-timeout must be above 0 seconds");
                return ExitCodes.Usage;
            }

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
            var example = new HostString(new Uri(address).Authority);
            string ports = cids.Count > 0 ? $" (vsock port {port})" : "";
            Console.Error.WriteLine($"vmci gateway: serving guests {string.Join(", ", all.Select(g => g.IsCid ? g.PathId : g.Title))}{ports} on {address}/, "
                + $"each on its own origin such as {GatewayHosts.OriginOf(all[0], example)}/ (Ctrl-C stops)");
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
        builder.Services.AddHttpForwarder();

        WebApplication app = builder.Build();
        var hosts = new GatewayHosts(guests);
        var connect = new VmciConnectionFactoryOptions { ConnectTimeout = connectTimeout };
        // One client per guest, each with its own connect target: nothing (connections, cookies) is shared between guests.
        Dictionary<GatewayGuest, SocketsHttpHandler> clients = guests.ToDictionary(g => g, g => GuestHandler(g, connect));
        app.Lifetime.ApplicationStopped.Register(() => { foreach (SocketsHttpHandler client in clients.Values) { client.Dispose(); } });
        IHttpForwarder forwarder = app.Services.GetRequiredService<IHttpForwarder>();

        // The Host decides first: a guest's origin is proxied whole; the gateway's pages answer on loopback names only.
        app.Use(async (context, next) =>
        {
            GatewayHostMatch match = hosts.Match(context.Request.Host);
            string home = GatewayHosts.GatewayOrigin(context.Request.Host) + "/";
            switch (match.Kind)
            {
                case GatewayHostKind.Gateway:
                    await next(context);
                    return;
                case GatewayHostKind.Guest:
                    await ForwardAsync(context, match.Guest!, forwarder, clients[match.Guest!], home);
                    return;
                case GatewayHostKind.UnknownGuest:
                    await WritePageAsync(context, 404, $"{match.Label}.localhost is not a guest of this gateway", $"The guests are {string.Join(", ", guests.Select(g => g.Label))}.", home);
                    return;
                case GatewayHostKind.Missing:
                    await WritePageAsync(context, 400, "The request names no host", "Send a Host header: localhost for this gateway, cid-N.localhost for guest N.", home);
                    return;
                default:
                    // 421 Misdirected Request: not a name this gateway serves. A page of another site whose name
                    // resolves to 127.0.0.1 (DNS rebinding) ends here instead of reaching a guest.
                    await WritePageAsync(context, 421, $"{match.Label} is not a host of this gateway",
                        "It answers only to localhost, 127.0.0.1 and [::1] (its own pages) and to cid-N.localhost (guest N), so that pages of other sites cannot reach the guests.", home);
                    return;
            }
        });
        app.UseRouting();
        app.MapGet("/", (HttpContext context) => Results.Content(GatewayPages.Index(guests.Select(g => (g, GatewayHosts.OriginOf(g, context.Request.Host) + "/"))), "text/html; charset=utf-8"));
        app.MapGet("/api/guests", async (CancellationToken cancellationToken) =>
        {
            var states = await Task.WhenAll(guests.Select(async guest =>
            {
                using var client = new HttpClient(clients[guest], disposeHandler: false) { Timeout = connectTimeout + TimeSpan.FromSeconds(3) };
                try
                {
                    // Any HTTP answer means the guest's server is up; /healthz just keeps the answer small.
                    using HttpResponseMessage response = await client.GetAsync($"http://{guest.Label}/healthz", cancellationToken);
                    return new GuestState(guest.Label, guest.Cid, Reachable: true, $"/healthz answered {(int)response.StatusCode} {response.ReasonPhrase}");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return new GuestState(guest.Label, guest.Cid, Reachable: false, ex.InnerException?.Message ?? ex.Message);
                }
            }));
            return Results.Json(states, GatewayJsonContext.Default.GuestStateArray);
        });
        // The old addresses move to the guest's origin, path and query kept (escaped: a decoded path may hold
        // characters a header cannot); 307 keeps the method and body. Guests are never served on this origin.
        app.Map("/vm/{id}/{**rest}", (HttpContext context, string id) =>
        {
            if (hosts.FindByPathId(id) is not { } guest)
            {
                return WritePageAsync(context, 404, $"{(char.IsAsciiDigit(id[0]) ? "CID " : "")}{id} is not a guest of this gateway", $"The guests are {string.Join(", ", guests.Select(g => g.PathId))}.", "/");
            }

            string rest = context.Request.Path.Value!["/vm/".Length..];
            rest = rest.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? rest[slash..] : "/";
            context.Response.Redirect(GatewayHosts.OriginOf(guest, context.Request.Host) + new PathString(rest).ToUriComponent() + context.Request.QueryString, permanent: false, preserveMethod: true);
            return Task.CompletedTask;
        });
        return app;
    }

    private static SocketsHttpHandler GuestHandler(GatewayGuest guest, VmciConnectionFactoryOptions connect) => new()
    {
        // As YARP's own client does: the browser's requests and the guest's answers pass as they are.
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ActivityHeadersPropagator = null,
        ConnectCallback = VmciHttp.ConnectTo(guest.EndPoint, connect),
    };

    private static async Task ForwardAsync(HttpContext context, GatewayGuest guest, IHttpForwarder forwarder, SocketsHttpHandler handler, string home)
    {
        using var client = new HttpMessageInvoker(handler, disposeHandler: false);
        // The URL's host is only a name: the handler connects to the guest's endpoint, and the Host header is the browser's.
        ForwarderError error = await forwarder.SendAsync(context, $"http://{guest.Label}/", client, ForwarderRequestConfig.Empty, GuestTransformer.Instance);
        // A guest that is down or has no listener: say which and why, at once, instead of an empty 502.
        if (error != ForwarderError.None && !context.Response.HasStarted && context.GetForwarderErrorFeature() is { } feature)
        {
            string why = feature.Exception?.InnerException?.Message ?? feature.Exception?.Message ?? feature.Error.ToString();
            await WritePageAsync(context, context.Response.StatusCode, $"{guest.Title} did not answer", why, home);
        }
    }

    private static Task WritePageAsync(HttpContext context, int status, string title, string detail, string home)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(GatewayPages.Error(status, title, detail, home), context.RequestAborted);
    }
}

/// <summary>The gateway's own pages.</summary>
internal static class GatewayPages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string Index(IEnumerable<(GatewayGuest Guest, string Origin)> guests) => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>vmci gateway</title><link rel="icon" href="data:,">
        <style>body{font-family:system-ui,sans-serif;max-width:800px;margin:2rem auto;color:#1d2433}li{margin:.4rem 0}.up{color:#20bf6b}.down{color:#eb3b5a}</style></head>
        <body><h1>Guests behind this gateway</h1><p>Each link opens that guest's web server, reached over vsock, on its own origin.</p><ul>
        {{string.Concat(guests.Select(g => $"<li><a href=\"{Html.Encode(g.Origin)}\">{Html.Encode(g.Guest.Title)}</a> <span id=\"guest-{g.Guest.Label}\">checking…</span></li>"))}}
        </ul>
        <script>
        fetch('/api/guests').then(r => r.json()).then(guests => guests.forEach(g => {
          const e = document.getElementById('guest-' + g.guest);
          e.textContent = g.reachable ? 'up' : 'down: ' + g.detail; e.className = g.reachable ? 'up' : 'down';
        }));
        </script></body></html>
        """;

    public static string Error(int status, string title, string detail, string home) => $"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{status} {Html.Encode(title)}</title><link rel="icon" href="data:,"></head>
        <body style="font-family:system-ui,sans-serif;max-width:800px;margin:2rem auto"><h1>{status}: {Html.Encode(title)}</h1><p>{Html.Encode(detail)}</p><p><a href="{Html.Encode(home)}">All guests</a></p></body></html>
        """;
}

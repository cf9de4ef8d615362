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
        var options = new GatewayOptions(
            Listen: new Option<string>("--listen") { Description = "The TCP address to serve on", DefaultValueFactory = _ => "127.0.0.1:8080" },
            Guests: new Option<string[]>("--guests") { Description = "The guests' CIDs, comma-separated or repeated: 3,4,5 (guest N is served at http://cid-N.localhost:PORT/); or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest (served at an origin named after the whole socket path: hvsock:///run/fc-1.vsock:8080 at http://run-fc-1-vsock.localhost:PORT/)" },
            Named: new Option<string[]>("--guest") { Description = "A named guest, repeatable: NAME=vsock://CID:PORT or NAME=hvsock:///SOCKET:PORT, served at http://NAME.localhost:PORT/ (pins the guest's origin, and with it its cookies and storage, to a name of your choice)" },
            GuestPort: new Option<uint>("--guest-port") { Description = "The vsock port of each guest's web server", DefaultValueFactory = _ => 8080 },
            ConnectTimeout: new Option<double>("--connect-timeout") { Description = "Seconds to wait for a guest before answering 502", DefaultValueFactory = _ => 2 },
            ToHost: new Option<bool>("--to-host") { Description = "Send the CID guests' connections to the host for forwarding (VMADDR_FLAG_TO_HOST)" },
            Allow: new Option<string[]>("--allow") { Description = ForwardCommand.AllowDescription });
        var command = new Command("gateway", "Serve one page for many guests, each on its own origin http://cid-N.localhost:PORT/, proxied to that guest's web server over vsock.")
        {
            options.Listen, options.Guests, options.Named, options.GuestPort, options.ConnectTimeout, options.ToHost, options.Allow,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (ParseSettings(result, options, out GatewaySettings? settings) is { } error)
            {
                Console.Error.WriteLine($"vmci gateway: {error}");
                return ExitCodes.Usage;
            }

            return await RunAsync(settings!, cancellationToken);
        });
        return command;
    }

    /// <summary>The settings from the command line, or null and the error that says what is wrong.</summary>
    private static string? ParseSettings(ParseResult result, GatewayOptions options, out GatewaySettings? settings)
    {
        settings = null;
        if (!TcpAddress.TryParse(result.GetValue(options.Listen)!, out IPEndPoint? listenOn))
        {
            return $"--listen '{result.GetValue(options.Listen)}' is not IP:PORT, for example 127.0.0.1:8080";
        }

        uint port = result.GetValue(options.GuestPort);
        if (port is 0 or VmciPort.Any)
        {
            return $"--guest-port {port} is not a port to connect to";
        }

        if (ParseGuests(result.GetValue(options.Guests) ?? [], port, result.GetValue(options.ToHost), result.GetValue(options.Named) ?? [], out List<GatewayGuest> guests) is { } guestError)
        {
            return guestError;
        }

        double seconds = result.GetValue(options.ConnectTimeout);
        if (seconds <= 0)
        {
            return "--connect-timeout must be above 0 seconds";
        }

        if (!ClientAllowList.TryParse(result.GetValue(options.Allow) ?? [], out ClientAllowList? allowed, out string? allowError))
        {
            return allowError;
        }

        settings = new GatewaySettings(listenOn, guests, TimeSpan.FromSeconds(seconds), allowed);
        return null;
    }

    /// <summary>--guests (CIDs and hvsock:// guests) and --guest NAME=...; null, or the error. Each guest must get an origin of its own.</summary>
    private static string? ParseGuests(IEnumerable<string> guests, uint port, bool toHost, IEnumerable<string> named, out List<GatewayGuest> all)
    {
        all = [];
        var cids = new SortedSet<uint>();
        var hybrid = new List<GatewayGuest>();
        foreach (string part in guests.SelectMany(g => g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (part.StartsWith(HybridVsockEndPoint.Scheme + "://", StringComparison.OrdinalIgnoreCase))
            {
                if (!VmciEndPointParser.TryParse(part, out EndPoint? parsed, out string? why) || parsed is not HybridVsockEndPoint endPoint)
                {
                    return $"--guests '{part}' is not a hybrid vsock guest: {why}";
                }

                hybrid.Add(GatewayGuest.ForHybrid(endPoint));
            }
            else if (uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out uint cid) && cid != VmciCid.Any)
            {
                cids.Add(cid);
            }
            else
            {
                return $"--guests '{part}' is not a CID: expected whole numbers such as 3,4,5, or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest";
            }
        }

        all.AddRange(cids.Select(cid => GatewayGuest.ForCid(cid, port, toHost)));
        all.AddRange(hybrid.DistinctBy(g => g.EndPoint));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string text in named)
        {
            if (!GatewayGuest.TryParseNamed(text, out GatewayGuest? guest, out string? error))
            {
                return error;
            }

            if (!names.Add(guest.Label))
            {
                return $"--guest {guest.Label} is given twice: each name is one origin";
            }

            all.Add(guest);
        }

        // Two socket paths may make one label (/run/a-b/x and /run/a/b-x), as may a name and a path: each guest
        // must have an origin of its own, so a name has to tell them apart.
        if (all.GroupBy(g => g.Label).FirstOrDefault(g => g.Count() > 1) is { } shared)
        {
            return $"the guests {string.Join(" and ", shared.Select(g => g.EndPoint))} would share the origin {shared.Key}.localhost: give one of them another name with --guest NAME=...";
        }

        return all.Count == 0 ? "no guests: give --guests 3,4,5 or --guest NAME=vsock://CID:PORT" : null;
    }

    private static async Task<int> RunAsync(GatewaySettings settings, CancellationToken cancellationToken)
    {
        WebApplication app = Build(settings);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (System.IO.IOException ex)
        {
            Console.Error.WriteLine($"vmci gateway: cannot listen on {settings.ListenOn}: {ex.Message}");
            return ExitCodes.Failure;
        }

        IReadOnlyList<GatewayGuest> guests = settings.Guests;
        string address = app.Urls.First();
        var example = new HostString(new Uri(address).Authority);
        string ports = guests.FirstOrDefault(g => g.IsCid)?.EndPoint is VmciEndPoint cid ? $" (vsock port {cid.Port})" : "";
        Console.Error.WriteLine($"vmci gateway: serving guests {string.Join(", ", guests.Select(g => g.IsCid ? g.PathId : g.Title))}{ports} on {address}/, "
            + $"each on its own origin such as {GatewayHosts.OriginOf(guests[0], example)}/ (Ctrl-C stops)");
        await app.WaitForShutdownAsync(cancellationToken);
        return ExitCodes.Success;
    }

    internal static WebApplication Build(GatewaySettings settings)
    {
        IReadOnlyList<GatewayGuest> guests = settings.Guests;
        WebApplication app = CreateHost(settings);
        var hosts = new GatewayHosts(guests);
        var connect = new VmciConnectionFactoryOptions { ConnectTimeout = settings.ConnectTimeout };
        // One client per guest, each with its own connect target: nothing (connections, cookies) is shared between guests.
        Dictionary<GatewayGuest, SocketsHttpHandler> clients = guests.ToDictionary(g => g, g => GuestHandler(g, connect));
        Dictionary<GatewayGuest, GuestProbe> probes = guests.ToDictionary(g => g, g => new GuestProbe(g, connect, settings.ConnectTimeout + TimeSpan.FromSeconds(3), TimeProvider.System));
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            foreach (IDisposable client in clients.Values.Concat<IDisposable>(probes.Values))
            {
                client.Dispose();
            }
        });
        IHttpForwarder forwarder = app.Services.GetRequiredService<IHttpForwarder>();

        // The Host decides first: a guest's origin is proxied whole; the gateway's pages answer on loopback names only.
        app.Use((context, next) => RouteOnHostAsync(context, next, hosts, guests, forwarder, clients));
        app.UseRouting();
        app.MapGet("/", (HttpContext context) => Results.Content(GatewayPages.Index(guests.Select(g => (g, GatewayHosts.OriginOf(g, context.Request.Host) + "/"))), "text/html; charset=utf-8"));
        // Each guest is asked at most once at a time and its answer kept for a moment, so a page that asks in a loop
        // costs the guests nothing more; the probe reads headers only, so a guest cannot make the gateway buffer a body.
        app.MapGet("/api/guests", async (CancellationToken cancellationToken) =>
            Results.Json(await Task.WhenAll(guests.Select(g => probes[g].StateAsync().WaitAsync(cancellationToken))), GatewayJsonContext.Default.GuestStateArray));
        app.Map("/vm/{id}/{**rest}", (HttpContext context, string id) => RedirectToOriginAsync(context, id, hosts, guests));
        return app;
    }

    /// <summary>The web host: Kestrel on the --listen address, serving only the clients --allow admits, and YARP's forwarder.</summary>
    private static WebApplication CreateHost(GatewaySettings settings)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning)
            // The error page tells the browser what went wrong; a stack trace per failed request is noise.
            .AddFilter("Yarp", LogLevel.Error)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(settings.ListenOn, listen => listen.Use(next => connection =>
        {
            // Before any byte is read: a client that is not allowed gets its connection closed, unanswered.
            if (connection.RemoteEndPoint is IPEndPoint peer && settings.Allowed.IsAllowed(peer.Address))
            {
                return next(connection);
            }

            Console.Error.WriteLine($"vmci gateway: refused {connection.RemoteEndPoint}: not an allowed client (loopback only unless --allow says otherwise)");
            return Task.CompletedTask;
        })));
        builder.Services.AddHttpForwarder();
        return builder.Build();
    }

    private static async Task RouteOnHostAsync(HttpContext context, RequestDelegate next, GatewayHosts hosts, IReadOnlyList<GatewayGuest> guests, IHttpForwarder forwarder, Dictionary<GatewayGuest, SocketsHttpHandler> clients)
    {
        GatewayHostMatch match = hosts.Match(context.Request.Host);
        string home = GatewayHosts.GatewayOrigin(context.Request.Host) + "/";
        switch (match.Kind)
        {
            case GatewayHostKind.Gateway:
                await next(context);
                return;
            case GatewayHostKind.Guest when IsServiceWorkerScript(context.Request):
                // A service worker outlives the guest's page and answers for its origin, offline too: for this guest
                // after a restart, and for whichever VM holds this origin next (a reused CID). Registration fetches
                // the script with this header; refusing it makes registration fail in the browser.
                await WritePageAsync(context, 403, $"{match.Guest!.Title} may not register a service worker",
                    "Guest origins are not given service workers: one would keep answering for this origin after the guest is gone. The gateway did not ask the guest.", home);
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
    }

    private static bool IsServiceWorkerScript(HttpRequest request)
        => string.Equals(request.Headers["Service-Worker"], "script", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The old addresses move to the guest's origin, path and query kept (escaped: a decoded path may hold
    /// characters a header cannot); 307 keeps the method and body. Guests are never served on this origin.
    /// </summary>
    private static Task RedirectToOriginAsync(HttpContext context, string id, GatewayHosts hosts, IReadOnlyList<GatewayGuest> guests)
    {
        if (hosts.FindByPathId(id) is not { } guest)
        {
            return WritePageAsync(context, 404, $"{(char.IsAsciiDigit(id[0]) ? "CID " : "")}{id} is not a guest of this gateway", $"The guests are {string.Join(", ", guests.Select(g => g.PathId))}.", "/");
        }

        string rest = context.Request.Path.Value!["/vm/".Length..];
        rest = rest.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? rest[slash..] : "/";
        context.Response.Redirect(GatewayHosts.OriginOf(guest, context.Request.Host) + new PathString(rest).ToUriComponent() + context.Request.QueryString, permanent: false, preserveMethod: true);
        return Task.CompletedTask;
    }

    /// <summary>The client that <see cref="ForwardAsync"/> passes a guest's requests through.</summary>
    internal static SocketsHttpHandler GuestHandler(GatewayGuest guest, VmciConnectionFactoryOptions connect) => new()
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

    /// <summary>The command line's options, parsed into <see cref="GatewaySettings"/>.</summary>
    private sealed record GatewayOptions(Option<string> Listen, Option<string[]> Guests, Option<string[]> Named, Option<uint> GuestPort,
        Option<double> ConnectTimeout, Option<bool> ToHost, Option<string[]> Allow);
}

/// <summary>What <c>vmci gateway</c> serves: where, which guests, how long to wait for one, and which clients.</summary>
internal sealed record GatewaySettings(IPEndPoint ListenOn, IReadOnlyList<GatewayGuest> Guests, TimeSpan ConnectTimeout, ClientAllowList Allowed);

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

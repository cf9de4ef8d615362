using System.Collections.Generic;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Vmci.Kestrel;
using Vmci.Native;
using WebAppOverVmci;

// The management dashboard of a VM with no network: served over vsock only, unless a TCP listener is
// asked for. HTTP/1.1 on port 8080 for browsers and curl-like clients, HTTP/2 with prior knowledge
// on 8081 for gRPC (Protos/dashboard.proto) and h2 clients (Kestrel cannot offer both on one cleartext port).
// The slim builder leaves out what a guest dashboard does not use (HTTPS, HTTP/3, IIS, hosting startups, the
// EventSource and debug loggers) and, with the source-generated JSON below, lets the app publish as one Native
// AOT executable. The content root is the app's own folder, so appsettings.json is found whatever the working directory.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = System.AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--port"] = "Dashboard:Port",
    ["--tcp"] = "Dashboard:Tcp",
});

builder.WebHost.UseVmci();
// Read the options when Kestrel is configured, so settings added by a host wrapper (tests) count too.
builder.WebHost.ConfigureKestrel((context, kestrel) =>
{
    DashboardOptions dashboard = DashboardOptions.From(context.Configuration);
    if (VmciSocketActivation.IsSocketActivated)
    {
        // Started by systemd (or systemd-socket-activate) with listening sockets: serve exactly those.
        // UseVmci() takes the vsock ones; UseSystemd() hands Kestrel every one, TCP and Unix included.
        kestrel.UseSystemd();
    }
    else if (!dashboard.EndpointsFromConfiguration)
    {
        kestrel.ListenVmci(VmciCid.Any, dashboard.Port, listen => listen.Protocols = HttpProtocols.Http1);
        kestrel.ListenVmci(VmciCid.Any, dashboard.Port + 1, listen => listen.Protocols = HttpProtocols.Http2);
    }

    if (dashboard.TcpEndPoint is { } tcp)
    {
        kestrel.Listen(tcp);
    }
});

builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, DashboardJsonContext.Default));
// Only the names the dashboard is reached by: through `vmci forward` on 127.0.0.1, a page of any site whose name
// its DNS rebinds to 127.0.0.1 would otherwise read the dashboard. ASP.NET's host filtering runs in every
// WebApplication and takes AllowedHosts from configuration, but allows any name when it is not set: give it the
// dashboard's names then (see DashboardOptions.DefaultAllowedHosts).
builder.Services.AddOptions<HostFilteringOptions>().Configure<IConfiguration>((hosts, configuration) =>
{
    if (configuration["AllowedHosts"] is null)
    {
        hosts.AllowedHosts = [.. DashboardOptions.DefaultAllowedHosts()];
    }
});
builder.Services.AddGrpc();
builder.Services.AddSingleton<RequestLog>();
builder.Services.AddSingleton<SystemStatus>();

var app = builder.Build();
app.UseMiddleware<RequestLogMiddleware>();
// The page is compiled into the assembly (wwwroot as embedded resources), so the app is its files alone, or one
// native file: nothing to copy beside it into a guest.
var page = new EmbeddedFileProvider(typeof(Program).Assembly, "WebAppOverVmci.wwwroot");
app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = page });
app.UseStaticFiles(new StaticFileOptions { FileProvider = page });
app.MapDashboardApi();
// The same status for programs, as gRPC (Protos/dashboard.proto), on the HTTP/2 port.
app.MapGrpcService<DashboardGrpcService>();
app.Run();

/// <summary>The entry point, public for WebApplicationFactory in the tests.</summary>
public partial class Program;

using System;
using System.Buffers;
using System.IO;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Vmci.Kestrel;
using Vmci.Native;

// Usage: Vmci.Benchmarks.Server [--vsock-port 5000] [--tcp-port 5100] [--unix /tmp/vmci-bench]
// Each transport gets an HTTP/1.1 endpoint and, on the next port (or NAME-h2.sock), an h2c endpoint; vsock and TCP
// also get a bare HTTP/1.1 endpoint two ports up, whose plaintext skips routing (what the peers' servers do).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
uint vsockPort = uint.Parse(builder.Configuration["vsock-port"] ?? "5000", System.Globalization.CultureInfo.InvariantCulture);
int tcpPort = int.Parse(builder.Configuration["tcp-port"] ?? "5100", System.Globalization.CultureInfo.InvariantCulture);
string unix = builder.Configuration["unix"] ?? "/tmp/vmci-bench";
foreach (string path in new[] { $"{unix}-h1.sock", $"{unix}-h2.sock" })
{
    File.Delete(path);
}

// 1,000 connections come from one CID (the load generator), more than the default per-CID buffer budget admits.
builder.WebHost.UseVmci(options => options.MaxBufferedBytesPerPeerCid = null);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenVmci(VmciCid.Any, vsockPort, l => l.Protocols = HttpProtocols.Http1);
    kestrel.ListenVmci(VmciCid.Any, vsockPort + 1, l => l.Protocols = HttpProtocols.Http2);
    kestrel.Listen(IPAddress.Loopback, tcpPort, l => l.Protocols = HttpProtocols.Http1);
    kestrel.Listen(IPAddress.Loopback, tcpPort + 1, l => l.Protocols = HttpProtocols.Http2);
    kestrel.ListenVmci(VmciCid.Any, vsockPort + 2, l => l.Protocols = HttpProtocols.Http1);
    kestrel.Listen(IPAddress.Loopback, tcpPort + 2, l => l.Protocols = HttpProtocols.Http1);
    kestrel.ListenUnixSocket($"{unix}-h1.sock", l => l.Protocols = HttpProtocols.Http1);
    kestrel.ListenUnixSocket($"{unix}-h2.sock", l => l.Protocols = HttpProtocols.Http2);
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
});

var app = builder.Build();
byte[] hello = "Hello, World!"u8.ToArray();
byte[] chunk = new byte[64 * 1024];
Random.Shared.NextBytes(chunk);

// The bare endpoints: a raw middleware ahead of routing answers plaintext, as the Go and hyper peers do (they have no
// router either). UseRouting comes after it, so that WebApplication does not put routing first.
app.Use((context, next) =>
{
    bool bare = context.Features.Get<IVmciConnectionFeature>() is { } vsock ? vsock.LocalEndPoint.Port == vsockPort + 2 : context.Connection.LocalPort == tcpPort + 2;
    if (!bare)
    {
        return next(context);
    }

    context.Response.ContentType = "text/plain";
    context.Response.ContentLength = hello.Length;
    return context.Response.Body.WriteAsync(hello).AsTask();
});
app.UseRouting();

// The TechEmpower plaintext response: the per-request cost of the transport and server, no app work.
app.MapGet("/plaintext", (HttpContext context) =>
{
    context.Response.ContentType = "text/plain";
    context.Response.ContentLength = hello.Length;
    return context.Response.Body.WriteAsync(hello).AsTask();
});

app.MapGet("/bytes/{length:long}", async (HttpContext context, long length) =>
{
    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = length;
    for (long sent = 0; sent < length; sent += chunk.Length)
    {
        await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length - sent)), context.RequestAborted);
    }
});

app.MapPost("/upload", async (HttpContext context) =>
{
    long total = 0;
    while (true)
    {
        var result = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
        total += result.Buffer.Length;
        context.Request.BodyReader.AdvanceTo(result.Buffer.End);
        if (result.IsCompleted)
        {
            break;
        }
    }

    return Results.Text(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
});

app.MapGet("/gc", () =>
{
    long allocated = GC.GetTotalAllocatedBytes(precise: true);
    // Collect first, so that the working set counts what is live rather than garbage awaiting collection.
    long managed = GC.GetTotalMemory(forceFullCollection: true);
    using var process = System.Diagnostics.Process.GetCurrentProcess();
    return Results.Json(new { allocated, managed, workingSet = process.WorkingSet64 });
});

app.Run();

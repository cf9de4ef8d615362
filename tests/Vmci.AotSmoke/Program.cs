using System;
using System.Globalization;
using System.Net.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Vmci.Kestrel;
using Vmci.Native;

// The smallest use of both halves of the library, compiled ahead of time: the Kestrel transport serves
// GET / on vsock://any:PORT, and GET /self calls that endpoint back through HttpClient over vsock.
// Usage: Vmci.AotSmoke PORT
if (args is not [var portText] || !uint.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out uint port))
{
    Console.Error.WriteLine("usage: Vmci.AotSmoke PORT (the vsock port to serve on)");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseVmci();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenVmci(VmciCid.Any, port));

var app = builder.Build();
app.MapGet("/", (HttpContext context) => $"aot: CID {context.GetVmciConnection()?.PeerCid} over {context.Request.Protocol}");
app.MapGet("/self", async (HttpContext context) =>
{
    using var client = new HttpClient(VmciHttp.CreateHandler(new VmciEndPoint(VmciCid.Local, port)));
    return "self: " + await client.GetStringAsync(new Uri("http://self/"), context.RequestAborted).ConfigureAwait(false);
});
app.Run();
return 0;

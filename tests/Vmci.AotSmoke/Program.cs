using System;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Vmci.Kestrel;
using Vmci.Native;

// The smallest use of both halves of the library, compiled ahead of time: the Kestrel transport serves
// GET / on vsock://any:PORT, GET /self calls that endpoint back through HttpClient over vsock, and
// GET /bytes/COUNT sends COUNT bytes of a fixed pattern (byte i is i % 251), GET /status says
// "local CID L, peer CID P, PROTOCOL"; PORT + 1 serves the same over HTTP/2 only (h2c). In a real guest (eng/vsock-guests)
// it is also the guest's client: `get URL [COUNT]` sends COUNT concurrent GETs over vsock (http://cid-2:PORT/
// is the host) and prints one line per response; with `stay` it then keeps running, its connections idle in the pool.
// Usage: Vmci.AotSmoke PORT | Vmci.AotSmoke get URL [COUNT [stay]]
if (args is ["get", var url, .. var rest])
{
    return await GetAsync(new Uri(url), rest is [var countText, ..] ? int.Parse(countText, CultureInfo.InvariantCulture) : 1, rest is [_, "stay"]);
}

if (args is not [var portText] || !uint.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out uint port))
{
    Console.Error.WriteLine("usage: Vmci.AotSmoke PORT (the vsock port to serve on) | Vmci.AotSmoke get URL [COUNT]");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseVmci();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.ListenVmci(VmciCid.Any, port);
    kestrel.ListenVmci(VmciCid.Any, port + 1, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
});

var app = builder.Build();
app.MapGet("/", (HttpContext context) => $"aot: CID {context.GetVmciConnection()?.PeerCid} over {context.Request.Protocol}");
app.MapGet("/self", async (HttpContext context) =>
{
    using var client = new HttpClient(VmciHttp.CreateHandler(new VmciEndPoint(VmciCid.Local, port)));
    return "self: " + await client.GetStringAsync(new Uri("http://self/"), context.RequestAborted).ConfigureAwait(false);
});
app.MapGet("/status", (HttpContext context) =>
    $"local CID {VmciPlatform.GetLocalCid()}, peer CID {context.GetVmciConnection()?.PeerCid}, {context.Request.Protocol}");
app.MapGet("/bytes/{count:long}", async (HttpContext context, long count) =>
{
    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = count;
    byte[] block = new byte[251 * 256];
    for (int i = 0; i < block.Length; i++)
    {
        block[i] = (byte)(i % 251);
    }

    for (long sent = 0; sent < count; sent += block.Length)
    {
        await context.Response.Body.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, count - sent)), context.RequestAborted).ConfigureAwait(false);
    }
});
app.Run();
return 0;

// COUNT GETs at once, each on a connection of its own while the others are in flight; one line per response:
// "N: STATUS BODY" (a body of the /bytes pattern prints as "BYTES n pattern ok|broken"), or "N: error: MESSAGE".
static async Task<int> GetAsync(Uri url, int count, bool stay)
{
    SocketsHttpHandler handler = VmciHttp.CreateHandler();
    handler.PooledConnectionIdleTimeout = System.Threading.Timeout.InfiniteTimeSpan;
    using var client = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
    string[] lines = await Task.WhenAll(Enumerable.Range(1, count).Select(async n =>
    {
        try
        {
            using HttpResponseMessage response = await client.GetAsync(url).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            string text = response.Content.Headers.ContentType?.MediaType == "application/octet-stream"
                ? $"BYTES {body.Length} pattern {(body.Select((b, i) => b == (byte)(i % 251)).All(ok => ok) ? "ok" : "broken")}"
                : System.Text.Encoding.UTF8.GetString(body);
            return $"{n}: {(int)response.StatusCode} {text}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            string message = e.Message;
            for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
            {
                message += " -> " + inner.Message;
            }

            return $"{n}: error: {message}";
        }
    })).ConfigureAwait(false);
    foreach (string line in lines)
    {
        Console.WriteLine(line);
    }

    if (stay)
    {
        Console.Out.Flush();
        await Task.Delay(System.Threading.Timeout.Infinite).ConfigureAwait(false);
    }

    return lines.All(l => !l.Contains(": error: ", StringComparison.Ordinal)) ? 0 : 1;
}

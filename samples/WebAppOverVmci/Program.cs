using System;
using System.Net.Sockets;
using System.Text;
using Vmci.Native;

// Foundation stage of the sample: one request and answer over a real vsock connection on this
// machine (CID 1, vsock_loopback). The dashboard served by Kestrel over vsock replaces it.
uint port = args is ["--port", var p] ? uint.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 8080;

Console.WriteLine($"local CID: {VmciSockets.GetLocalCid()}");
using Socket listener = VmciSocket.Listen(new VmciEndPoint(VmciCid.Any, port));
Console.WriteLine($"listening on {listener.LocalEndPoint}");

var accept = listener.AcceptAsync();
using Socket client = await VmciSocket.ConnectAsync(new VmciEndPoint(VmciCid.Local, port));
using Socket server = await accept;
Console.WriteLine($"accepted {server.RemoteEndPoint} on {VmciSocket.GetLocalEndPoint(server)}");

await client.SendAsync(Encoding.UTF8.GetBytes("GET /status\n"));
byte[] buffer = new byte[256];
int n = await server.ReceiveAsync(buffer);
Console.WriteLine($"server got: {Encoding.UTF8.GetString(buffer, 0, n).TrimEnd()}");
await server.SendAsync(Encoding.UTF8.GetBytes($"ok from CID {VmciSockets.GetLocalCid()}\n"));
n = await client.ReceiveAsync(buffer);
Console.WriteLine($"client got: {Encoding.UTF8.GetString(buffer, 0, n).TrimEnd()}");

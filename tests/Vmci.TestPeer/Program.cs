using System;
using System.Net.Sockets;
using Vmci.Native;

// Usage: Vmci.TestPeer bind vsock://CID:PORT
// Prints "bound <endpoint>" and exits 0, or "<SocketError>: <message>" and exits 2.
if (args is not ["bind", var text])
{
    Console.Error.WriteLine("usage: Vmci.TestPeer bind vsock://CID:PORT");
    return 64;
}

try
{
    using Socket listener = VmciSocket.Listen(VmciEndPoint.Parse(text));
    Console.WriteLine($"bound {listener.LocalEndPoint}");
    return 0;
}
catch (VmciSocketException ex)
{
    Console.WriteLine($"{ex.SocketErrorCode}: {ex.Message}");
    return 2;
}

using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// <c>vmci forward --listen 127.0.0.1:8080 --to vsock://CID:PORT</c> (or <c>--to hvsock:///SOCKET:PORT</c>): each
/// TCP connection becomes a vsock connection, bytes both ways, half-closes passed on. How a browser on the host
/// reaches a guest's dashboard.
/// </summary>
internal static class ForwardCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "The TCP address to listen on", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var to = new Option<string>("--to") { Description = "The vsock endpoint to forward to: vsock://CID:PORT (?to-host for VMADDR_FLAG_TO_HOST), or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest", Required = true };
        var allow = new Option<string[]>("--allow") { Description = "Client IP addresses allowed to connect (repeatable); default: loopback only" };
        var command = new Command("forward", "Forward TCP connections to a vsock endpoint, so that TCP-only programs (browsers, curl) reach a vsock server.")
        {
            listen, to, allow,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!TcpAddress.TryParse(result.GetValue(listen)!, out IPEndPoint? listenOn))
            {
                Console.Error.WriteLine($"vmci forward: --listen '{result.GetValue(listen)}' is not IP:PORT, for example 127.0.0.1:8080");
                return ExitCodes.Usage;
            }

            if (!VmciEndPoints.TryParse(result.GetValue(to), out EndPoint? target, out _) || target is VmciEndPoint { Cid: VmciCid.Any } or VmciEndPoint { Port: VmciPort.Any })
            {
                Console.Error.WriteLine($"vmci forward: --to '{result.GetValue(to)}' is not a vsock endpoint to connect to: expected vsock://CID:PORT or hvsock:///SOCKET:PORT, for example vsock://3:8080 or hvsock:///run/fc-1.vsock:8080");
                return ExitCodes.Usage;
            }

            HashSet<IPAddress> allowed = [];
            foreach (string text in result.GetValue(allow) ?? [])
            {
                foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!IPAddress.TryParse(part, out IPAddress? address))
                    {
                        Console.Error.WriteLine($"vmci forward: --allow '{part}' is not an IP address");
                        return ExitCodes.Usage;
                    }

                    allowed.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
                }
            }

            return await new Forwarder(listenOn, target, allowed).RunAsync(cancellationToken);
        });
        return command;
    }
}

/// <summary>The forwarding loop: accept, check the client, connect to vsock, pump both ways.</summary>
internal sealed class Forwarder(IPEndPoint listenOn, EndPoint target, IReadOnlySet<IPAddress> allowed)
{
    // The library's client defaults (connect timeout, vsock window), as every other client of it.
    private static readonly VmciConnectionFactoryOptions ConnectOptions = new();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(listenOn.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(listenOn);
            listener.Listen(512);
        }
        catch (SocketException ex)
        {
            Console.Error.WriteLine($"vmci forward: cannot listen on {listenOn}: {ex.Message}");
            return ExitCodes.Failure;
        }

        var bound = (IPEndPoint)listener.LocalEndPoint!;
        // A wildcard address is not one a browser can open; the loopback address on the same port is.
        var local = bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(IPAddress.Loopback, bound.Port) : bound;
        Console.Error.WriteLine($"vmci forward: listening on {bound}, forwarding to {target}; open http://{local}/ (Ctrl-C stops)");
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex)
            {
                // Out of descriptors, say: report it, wait a moment, keep forwarding.
                Console.Error.WriteLine($"vmci forward: accepting on {bound} failed: {ex.Message}; retrying");
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            _ = Task.Run(() => ServeAsync(client, cancellationToken), CancellationToken.None);
        }

        return ExitCodes.Success;
    }

    private bool IsAllowed(IPAddress address)
    {
        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return allowed.Count == 0 ? IPAddress.IsLoopback(address) : allowed.Contains(address);
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        {
            var peer = (IPEndPoint)client.RemoteEndPoint!;
            if (!IsAllowed(peer.Address))
            {
                Console.Error.WriteLine($"vmci forward: refused {peer}: not an allowed client (loopback only unless --allow says otherwise)");
                return;
            }

            Socket upstream;
            try
            {
                upstream = await VmciClientSocket.ConnectAsync(target, ConnectOptions, cancellationToken);
            }
            catch (Exception ex) when (ex is VmciSocketException or HybridVsockException)
            {
                Console.Error.WriteLine($"vmci forward: {peer}: {ex.Message}");
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            using (upstream)
            {
                client.NoDelay = true;
                await Task.WhenAll(PumpAsync(client, upstream, cancellationToken), PumpAsync(upstream, client, cancellationToken));
            }
        }
    }

    /// <summary>
    /// Copies one direction until its source ends or fails, then passes the end on (shutdown send). The other
    /// direction keeps running, so a server's answer still reaches a client whose upload it cut short; the
    /// caller disposes both sockets once both directions are done.
    /// </summary>
    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
            {
                int sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // This direction is over (reset, or the destination stopped reading); stop taking from its source.
            TryShutdown(from, SocketShutdown.Receive);
        }

        TryShutdown(to, SocketShutdown.Send);
    }

    private static void TryShutdown(Socket socket, SocketShutdown how)
    {
        try
        {
            socket.Shutdown(how);
        }
        catch (SocketException)
        {
            // Already gone: nothing left to pass on.
        }
    }
}

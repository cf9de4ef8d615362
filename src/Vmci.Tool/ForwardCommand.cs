using System;
using System.CommandLine;
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
    /// <summary>The help of <c>--allow</c>, which <c>vmci gateway</c> shares: one rule for both (<see cref="ClientAllowList"/>).</summary>
    public const string AllowDescription = "Client IP addresses or networks allowed to connect (10.0.2.2, 192.168.0.0/24; comma-separated or repeated); when given, only these; default: loopback only";

    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "The TCP address to listen on", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var to = new Option<string>("--to") { Description = "The vsock endpoint to forward to: vsock://CID:PORT (?to-host for VMADDR_FLAG_TO_HOST), or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest", Required = true };
        var allow = new Option<string[]>("--allow") { Description = AllowDescription };
        var maxConnections = new Option<int>("--max-connections") { Description = "Connections open at once; more are refused (reset) until one closes", DefaultValueFactory = _ => 256 };
        var idleTimeout = new Option<double>("--idle-timeout") { Description = "Seconds a connection may make no progress before it is closed: bytes waiting that the other side does not take, or one side closed and the other silent (an idle open connection is left alone)", DefaultValueFactory = _ => 60 };
        var command = new Command("forward", "Forward TCP connections to a vsock endpoint, so that TCP-only programs (browsers, curl) reach a vsock server.")
        {
            listen, to, allow, maxConnections, idleTimeout,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!TcpAddress.TryParse(result.GetValue(listen)!, out IPEndPoint? listenOn))
            {
                Console.Error.WriteLine($"vmci forward: --listen '{result.GetValue(listen)}' is not IP:PORT, for example 127.0.0.1:8080");
                return ExitCodes.Usage;
            }

            if (!VmciEndPointParser.TryParseRemote(result.GetValue(to), out EndPoint? target, out _))
            {
                Console.Error.WriteLine($"vmci forward: --to '{result.GetValue(to)}' is not a vsock endpoint to connect to: expected vsock://CID:PORT or hvsock:///SOCKET:PORT, for example vsock://3:8080 or hvsock:///run/fc-1.vsock:8080");
                return ExitCodes.Usage;
            }

            if (!ClientAllowList.TryParse(result.GetValue(allow) ?? [], out ClientAllowList? allowed, out string? error))
            {
                Console.Error.WriteLine($"vmci forward: {error}");
                return ExitCodes.Usage;
            }

            if (ForwardLimits.Parse(result.GetValue(maxConnections), result.GetValue(idleTimeout)) is not { } limits)
            {
                return ExitCodes.Usage;
            }

            return await new Forwarder(listenOn, target, allowed, limits).RunAsync(cancellationToken);
        });
        return command;
    }
}

/// <summary>The forwarding loop: accept, check the client, connect to vsock, pump both ways.</summary>
internal sealed class Forwarder(IPEndPoint listenOn, EndPoint target, ClientAllowList allowed, ForwardLimits limits)
{
    // The library's client defaults (connect timeout, vsock window), as every other client of it.
    private static readonly VmciConnectionFactoryOptions ConnectOptions = new();
    private readonly ConnectionSlots _slots = new(limits.MaxConnections);

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

            if (!_slots.TryTake(out bool firstRefusal))
            {
                Refuse(client, firstRefusal);
                continue;
            }

            _ = Task.Run(() => ServeAndReleaseAsync(client, cancellationToken), CancellationToken.None);
        }

        return ExitCodes.Success;
    }

    /// <summary>Resets a connection beyond --max-connections at once, so that the client fails now instead of waiting in a queue.</summary>
    private void Refuse(Socket client, bool firstRefusal)
    {
        if (firstRefusal)
        {
            Console.Error.WriteLine($"vmci forward: refused {client.RemoteEndPoint}: {_slots.Max} connections are open (--max-connections {_slots.Max}); refusing new ones until one closes");
        }

        try
        {
            client.LingerState = new LingerOption(true, 0); // close with RST
        }
        catch (SocketException)
        {
            // Already reset by the client: closing is all that is left.
        }

        client.Dispose();
    }

    private async Task ServeAndReleaseAsync(Socket client, CancellationToken cancellationToken)
    {
        try
        {
            await ServeAsync(client, cancellationToken);
        }
        finally
        {
            int refused = _slots.Release(out int open);
            if (refused > 0)
            {
                Console.Error.WriteLine($"vmci forward: accepting connections again ({open} of {_slots.Max} open; {refused} refused while full)");
            }

            // Closed only once its slot is free: a client that sees its connection end can connect again at once.
            client.Dispose();
        }
    }

    /// <summary>Serves one client; the caller closes it.</summary>
    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        var peer = (IPEndPoint)client.RemoteEndPoint!;
        if (!allowed.IsAllowed(peer.Address))
        {
            Console.Error.WriteLine($"vmci forward: refused {peer}: not an allowed client (loopback only unless --allow says otherwise)");
            return;
        }

        Socket upstream;
        try
        {
            upstream = await VmciConnectionFactory.ConnectSocketAsync(target, ConnectOptions, cancellationToken);
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
            await PumpBothWaysAsync(peer, client, upstream, cancellationToken);
        }
    }

    /// <summary>
    /// Pumps both directions until both are done, or until the pair makes no progress for --idle-timeout, whichever
    /// side is stuck: bytes wait that the destination does not take (a guest that never reads an upload), or one
    /// direction has ended (its source sent FIN, passed on) and the other is silent. Either would hold a
    /// --max-connections slot forever. A pair with both directions open and nothing waiting is left alone however
    /// long it idles: keep-alive, WebSockets and long polls are the endpoints' business.
    /// </summary>
    private async Task PumpBothWaysAsync(IPEndPoint peer, Socket client, Socket upstream, CancellationToken cancellationToken)
    {
        using var pair = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var activity = new PairActivity(TimeProvider.System);
        Task up = PumpAsync(client, upstream, activity, pair.Token);
        Task down = PumpAsync(upstream, client, activity, pair.Token);
        Task both = Task.WhenAll(up, down);
        Task stalled = activity.WhenStalledAsync(limits.IdleTimeout, () => up.IsCompleted || down.IsCompleted, pair.Token);
        if (await Task.WhenAny(both, stalled) == stalled && stalled.IsCompletedSuccessfully)
        {
            Console.Error.WriteLine(up.IsCompleted || down.IsCompleted
                ? $"vmci forward: {peer}: closing a half-open connection after {limits.IdleTimeout.TotalSeconds:0.###} s without traffic (--idle-timeout)"
                : $"vmci forward: {peer}: closing a stalled connection after {limits.IdleTimeout.TotalSeconds:0.###} s without progress (--idle-timeout)");
        }

        await pair.CancelAsync(); // ends the stall watch, or the stuck directions
        await both;
        await stalled.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// Copies one direction until its source ends or fails, then passes the end on (shutdown send). The other
    /// direction keeps running, so a server's answer still reaches a client whose upload it cut short; the
    /// caller disposes both sockets once both directions are done.
    /// </summary>
    private static async Task PumpAsync(Socket from, Socket to, PairActivity activity, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
            {
                activity.SendStarted();
                int sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, cancellationToken);
                }

                activity.SendEnded();
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

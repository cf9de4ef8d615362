using System;
using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Vmci.Kestrel;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary>
/// <c>vmci wait-ready --listen ENDPOINT [--cid N] [--timeout S]</c>: the host side for scripts that start a VM and
/// must wait until it serves. Exit 0 on READY=1; on timeout a message naming the CID and port, and exit 28.
/// </summary>
internal static class WaitReadyCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "Where to receive: vsock://any:PORT (vsock://any:any for a free port), or hvsock:///SOCKET:PORT for a Firecracker or Cloud Hypervisor guest (listens on SOCKET_PORT)", Required = true };
        var cid = new Option<uint?>("--cid") { Description = "Wait for this guest's READY=1 only (default: any sender)" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait", DefaultValueFactory = _ => 60 };
        var seqpacket = new Option<bool>("--seqpacket") { Description = "Listen on a seqpacket socket (guests send to vsock-seqpacket:2:PORT) instead of a stream socket" };
        var command = new Command("wait-ready", "Listen for sd_notify messages over vsock, as systemd-vmspawn does, print each one, and exit once READY=1 arrives.")
        {
            listen, cid, timeout, seqpacket,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(listen)!, result.GetValue(cid), result.GetValue(timeout), result.GetValue(seqpacket), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string listenText, uint? cid, double timeoutSeconds, bool seqpacket, CancellationToken cancellationToken)
    {
        if (!VmciEndPointParser.TryParse(listenText, out EndPoint? endPoint, out string? error))
        {
            Console.Error.WriteLine($"vmci wait-ready: --listen {error}");
            return ExitCodes.Usage;
        }

        if (timeoutSeconds <= 0)
        {
            Console.Error.WriteLine("vmci wait-ready: --timeout must be above 0 seconds");
            return ExitCodes.Usage;
        }

        var options = new VmciNotifyReceiverOptions { SocketType = seqpacket ? SocketType.Seqpacket : SocketType.Stream };
        // Refused messages are worth seeing in a script's output: warnings go to standard error.
        using ILoggerFactory loggers = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(console => console.SingleLine = true)
            .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
        VmciNotifyReceiver receiver;
        try
        {
            receiver = VmciNotifyReceiver.Start(endPoint, options, loggers);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            Console.Error.WriteLine($"vmci wait-ready: {ex.Message}");
            return ExitCodes.Failure;
        }

        await using (receiver)
        {
            Console.Error.WriteLine($"vmci wait-ready: listening on {receiver.EndPoint}; guests send to {receiver.GuestAddress}");
            using var printing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task print = PrintAsync(receiver, n => n.IsReady && (cid is null || n.PeerCid == cid), printing.Token);
            try
            {
                TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
                _ = cid is uint c
                    ? await receiver.WaitForReadyAsync(c, timeout, cancellationToken)
                    : await receiver.WaitForAnyReadyAsync(timeout, cancellationToken);
                await print; // ends once it printed that READY=1 message
                return ExitCodes.Success;
            }
            catch (TimeoutException ex)
            {
                printing.Cancel();
                await print;
                Console.Error.WriteLine($"vmci wait-ready: {ex.Message}");
                return ExitCodes.TimedOut;
            }
        }
    }

    /// <summary>Prints every message as it arrives, one per line, so a script sees STATUS= updates too; READY=1 is the last one printed.</summary>
    private static async Task PrintAsync(VmciNotifyReceiver receiver, Func<VmciNotification, bool> last, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (VmciNotification notification in receiver.ReadAllAsync(cancellationToken))
            {
                Console.WriteLine(notification);
                if (last(notification))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

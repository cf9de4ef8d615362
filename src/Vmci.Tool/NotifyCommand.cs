using System;
using System.CommandLine;
using System.Linq;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Tool;

/// <summary><c>vmci notify ADDRESS KEY=VALUE...</c>: systemd-notify for a vsock notify socket, for scripts in a guest.</summary>
internal static class NotifyCommand
{
    public static Command Create()
    {
        var address = new Argument<string>("address") { Description = "Where to send, in NOTIFY_SOCKET's vsock forms: vsock:CID:PORT, vsock-stream:CID:PORT, vsock-seqpacket:CID:PORT or vsock-dgram:CID:PORT (CID a number, host, local or hypervisor), for example vsock-stream:2:8888" };
        var fields = new Argument<string[]>("fields") { Description = "The fields, each KEY=VALUE, sent as one message: READY=1 STATUS=\"Serving\"", Arity = ArgumentArity.OneOrMore };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the receiver to take the message", DefaultValueFactory = _ => 10 };
        var command = new Command("notify", "Send an sd_notify message (READY=1, STATUS=..., STOPPING=1) over vsock, as systemd-notify does, to a host that listens (vmci wait-ready, VmciNotifyReceiver, systemd-vmspawn).")
        {
            address, fields, timeout,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(address)!, result.GetValue(fields) ?? [], result.GetValue(timeout), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string addressText, string[] fields, double timeoutSeconds, CancellationToken cancellationToken)
    {
        if (!VmciNotifyAddress.TryParse(addressText, out VmciNotifyAddress? address, out string? error))
        {
            Console.Error.WriteLine($"vmci notify: {error}");
            return ExitCodes.Usage;
        }

        if (fields.FirstOrDefault(f => f.IndexOf('=') <= 0 || f.Contains('\n')) is { } bad)
        {
            Console.Error.WriteLine($"vmci notify: '{bad}' is not a field: each is KEY=VALUE on one line, for example READY=1 or STATUS=Serving");
            return ExitCodes.Usage;
        }

        if (timeoutSeconds <= 0)
        {
            Console.Error.WriteLine("vmci notify: --timeout must be above 0 seconds");
            return ExitCodes.Usage;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await VmciNotify.SendAsync(address, string.Join('\n', fields), timeout.Token);
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"vmci notify: {address} did not take the message within {timeoutSeconds:0.###} s (the receiver closes the connection once it has read it)");
            return ExitCodes.TimedOut;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"vmci notify: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (SocketException ex)
        {
            Console.Error.WriteLine($"vmci notify: {ex.Message}");
            return ExitCodes.CouldNotConnect;
        }
        catch (System.IO.IOException ex)
        {
            Console.Error.WriteLine($"vmci notify: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}

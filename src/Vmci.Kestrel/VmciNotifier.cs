using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// The guest side of systemd's notify protocol over vsock, in the services of every app that calls
/// <c>UseVmci()</c>: when <c>NOTIFY_SOCKET</c> holds a vsock address (<c>vsock:</c>, <c>vsock-stream:</c>,
/// <c>vsock-seqpacket:</c>, <c>vsock-dgram:</c>), the app sends <c>READY=1</c> once the host has started (Kestrel
/// serves), <c>STOPPING=1</c> when it stops, and whatever it sends here (<c>STATUS=...</c>).
/// </summary>
/// <remarks>
/// <para>The variable is taken when <c>UseVmci()</c> configures the services and removed from the process
/// environment (as <c>sd_notify</c> does when asked to unset it), so child processes do not report for the app,
/// and .NET's own <c>SystemdNotifier</c> (Microsoft.Extensions.Hosting.Systemd), which handles only Unix socket
/// paths, finds nothing to send to: each message is sent once. A Unix socket path is left in place for it.</para>
/// <para>A failed send is logged (event 46) and reported as false; it never stops the app.</para>
/// </remarks>
public sealed class VmciNotifier
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);
    private readonly Lock _order = new();
    private readonly ILogger _logger;
    private Task _last = Task.CompletedTask;

    internal VmciNotifier(VmciNotifyAddress? address, ILogger<VmciNotifier> logger)
    {
        Address = address;
        _logger = logger;
    }

    /// <summary>The vsock address from <c>NOTIFY_SOCKET</c>; null when it held none (unset, or a Unix socket path).</summary>
    public VmciNotifyAddress? Address { get; }

    /// <summary>Whether messages are sent (<see cref="Address"/> is set).</summary>
    public bool IsEnabled => Address is not null;

    /// <summary>
    /// Sends <paramref name="state"/> (newline-separated <c>KEY=VALUE</c> fields, for example <c>STATUS=Warming up</c>)
    /// to the host, after any message sent before it.
    /// </summary>
    /// <returns>True when the host received it; false when notifying is off or the send failed (logged).</returns>
    /// <exception cref="ArgumentException"><paramref name="state"/> is empty or too long.</exception>
    public Task<bool> NotifyAsync(string state, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(state);
        if (Address is not { } address)
        {
            return Task.FromResult(false);
        }

        // In order: each send starts after the one before it ended (READY=1 before STOPPING=1).
        lock (_order)
        {
            Task<bool> send = SendAfterAsync(_last, address, state, cancellationToken);
            _last = send;
            return send;
        }
    }

    private async Task<bool> SendAfterAsync(Task previous, VmciNotifyAddress address, string state, CancellationToken cancellationToken)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SendTimeout);
        try
        {
            await VmciNotify.SendAsync(address, state, timeout.Token).ConfigureAwait(false);
            NotifyLog.Sent(_logger, Summary(state), address);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            NotifyLog.SendFailed(_logger, Summary(state), address, $"the receiver did not close the connection within {SendTimeout.TotalSeconds:0} s.");
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or System.IO.IOException or PlatformNotSupportedException)
        {
            NotifyLog.SendFailed(_logger, Summary(state), address, ex.Message);
        }

        return false;
    }

    private static string Summary(string state) => state.Replace('\n', ' ');
}

using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// How the client side connects, for every endpoint kind: one place for options, so every client API
/// (<see cref="VmciConnectionFactory"/>, <see cref="VmciHttp"/>, the vmci tool) behaves alike.
/// </summary>
internal static class VmciClientSocket
{
    // A guest that boots or starts its server takes seconds to minutes: retry soon, then at most once a second.
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Connects once, or with <see cref="VmciConnectionFactoryOptions.ConnectRetryTimeout"/> again and again while
    /// the peer is not there yet, with growing pauses, until that much time has passed.
    /// </summary>
    internal static async ValueTask<Socket> ConnectAsync(EndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        ThrowIfCannotConnectTo(endPoint);
        if (options.ConnectRetryTimeout is not { } window)
        {
            return await ConnectOnceAsync(endPoint, options, cancellationToken).ConfigureAwait(false);
        }

        long started = Stopwatch.GetTimestamp();
        TimeSpan delay = FirstRetryDelay;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await ConnectOnceAsync(endPoint, options, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex) when (IsNotThereYet(ex))
            {
                TimeSpan waited = Stopwatch.GetElapsedTime(started);
                if (waited + delay >= window)
                {
                    throw new TimeoutException(
                        $"{endPoint} did not accept a connection within {window.TotalSeconds:0.#} s ({attempt} attempts over {waited.TotalSeconds:0.#} s; ConnectRetryTimeout). The last attempt: {ex.Message}",
                        ex);
                }
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    /// <summary>
    /// The errors of a peer that is not there yet, not of a wrong request: nothing listens on the port (vsock
    /// resets), no transport reaches the CID yet (a guest not started: ENODEV), the connect timed out, or
    /// for hybrid vsock the VM's socket file is not there or not accepting yet, or the guest never accepted.
    /// </summary>
    private static bool IsNotThereYet(SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.TimedOut or SocketError.ConnectionAborted
            or SocketError.HostUnreachable or SocketError.NetworkUnreachable => true,
        _ => ex is VmciSocketException { PlatformErrorCode: 19 } // ENODEV
            || (ex is HybridVsockException && ex.SocketErrorCode == SocketError.AddressNotAvailable),
    };

    private static ValueTask<Socket> ConnectOnceAsync(EndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        return endPoint switch
        {
            // A Unix socket: the vsock buffer options do not apply; the connect timeout covers the retries and the handshake.
            HybridVsockEndPoint hybrid => HybridVsockSocket.ConnectAsync(hybrid, options.ConnectTimeout, cancellationToken),
            _ => ConnectAsync((VmciEndPoint)endPoint, options, cancellationToken),
        };
    }

    /// <summary>The one check of every client API that an endpoint can be connected to (not 'any', not another kind).</summary>
    /// <exception cref="ArgumentException">It cannot; the message names the endpoint and the fix.</exception>
    internal static void ThrowIfCannotConnectTo(EndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (!VmciEndPointParser.CanConnectTo(endPoint, out string? reason))
        {
            throw new ArgumentException(reason, nameof(endPoint));
        }
    }

    private static async ValueTask<Socket> ConnectAsync(VmciEndPoint endPoint, VmciConnectionFactoryOptions options, CancellationToken cancellationToken)
    {
        Socket socket = VmciSocket.Create(SocketType.Stream);
        try
        {
            if (options.ConnectTimeout is { } timeout)
            {
                socket.SetVmciConnectTimeout(timeout);
            }

            socket.SetVmciBufferSizes(options.BufferSize);

            await VmciSocket.ConnectAsync(socket, endPoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

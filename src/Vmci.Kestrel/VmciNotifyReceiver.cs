using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>
/// The host side of systemd's notify protocol over vsock, as systemd-vmspawn listens for its guests: guests
/// (systemd 254+ as PID 1 given the <c>vmm.notify_socket</c> credential, or an app with <c>UseVmci()</c> and
/// <c>NOTIFY_SOCKET</c>) send <c>READY=1</c>, <c>STATUS=...</c>, <c>STOPPING=1</c> and more; each message arrives
/// here parsed, with the sender's CID.
/// </summary>
/// <remarks>
/// <para>On a stream socket each connection carries one message, read until the sender shuts it down; on a seqpacket
/// socket each packet is one message. The receiver closes the connection once it has read it, which is what the
/// sender waits for. Hybrid vsock (<see cref="HybridVsockEndPoint"/>, Firecracker and Cloud Hypervisor) listens on
/// <c>PATH_PORT</c> and carries streams only.</para>
/// <para>A message that is too long, not UTF-8, has a line without <c>=</c>, or does not end in time is refused and
/// closed: logged (event 42, at most once per 10 seconds, with how many were held back) and counted
/// (<see cref="RejectedMessages"/> and the metric <c>vmci.notify.rejected_messages</c>). Nothing a sender does ends
/// the receiver.</para>
/// </remarks>
public sealed class VmciNotifyReceiver : IAsyncDisposable
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Socket _listener;
    private readonly VmciNotifyReceiverOptions _options;
    private readonly ILogger _logger;
    private readonly NotifyMetrics? _metrics;
    private readonly Channel<VmciNotification> _notifications;
    private readonly VmciPeerConnectionCounter<uint> _connections = new();
    private readonly VmciLogRateLimit _refusedLog = new(TimeSpan.FromSeconds(10));
    private readonly VmciLogRateLimit _acceptLog = new(TimeSpan.FromSeconds(10));
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, byte> _handlers = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, VmciNotification> _readyByCid = [];
    private readonly Dictionary<uint, VmciNotification> _lastByCid = [];
    private readonly Dictionary<uint, (string Detail, DateTimeOffset At)> _lastRefusalByCid = [];
    private readonly List<(uint? Cid, TaskCompletionSource<VmciNotification> Ready)> _waiters = [];
    private readonly Task _acceptLoop;
    private VmciNotification? _firstReady;
    private long _rejected;
    private int _disposed;

    private VmciNotifyReceiver(Socket listener, EndPoint endPoint, VmciNotifyAddress guestAddress, VmciNotifyReceiverOptions options, ILogger logger, NotifyMetrics? metrics)
    {
        _listener = listener;
        EndPoint = endPoint;
        GuestAddress = guestAddress;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _notifications = Channel.CreateBounded<VmciNotification>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleWriter = false,
        });
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>
    /// Where it listens, with the real port: a <see cref="VmciEndPoint"/> (<c>vsock://any:PORT</c>) or the
    /// <see cref="HybridVsockEndPoint"/> it was given.
    /// </summary>
    public EndPoint EndPoint { get; }

    /// <summary>
    /// The address a guest sends to: <c>vsock-stream:2:PORT</c> (or <c>vsock-seqpacket:</c>), the host's CID and this
    /// receiver's port. Pass it to the guest as <see cref="VmciNotifyAddress.SmbiosCredential"/> or
    /// <see cref="VmciNotifyAddress.KernelCommandLineCredential"/> (systemd in the guest), or as <c>NOTIFY_SOCKET</c>.
    /// </summary>
    public VmciNotifyAddress GuestAddress { get; }

    /// <summary>How many messages (or connections) were refused so far.</summary>
    public long RejectedMessages => Interlocked.Read(ref _rejected);

    /// <summary>Listens on <paramref name="endPoint"/> and starts receiving.</summary>
    /// <param name="endPoint">
    /// A <see cref="VmciEndPoint"/> (usually <c>vsock://any:PORT</c>, or <see cref="VmciPort.Any"/> for a free port, as
    /// systemd-vmspawn does) or a <see cref="HybridVsockEndPoint"/> (the VM's <c>uds_path</c> and the port guests dial at CID 2).
    /// </param>
    /// <param name="options">The limits; null for the defaults.</param>
    /// <param name="loggerFactory">Where its logs go (category <c>Vmci.Kestrel.VmciNotifyReceiver</c>); null for none.</param>
    /// <param name="meterFactory">Where its counter goes (meter <c>Vmci.Kestrel</c>); null for none.</param>
    /// <exception cref="ArgumentException">The endpoint is of another kind, or hybrid vsock with a seqpacket socket.</exception>
    /// <exception cref="VmciSocketException">Binding or listening on vsock failed; the message says why.</exception>
    /// <exception cref="HybridVsockException">Listening on the hybrid socket path failed; the message says why.</exception>
    public static VmciNotifyReceiver Start(EndPoint endPoint, VmciNotifyReceiverOptions? options = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        options ??= new VmciNotifyReceiverOptions();
        options.Validate();
        ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<VmciNotifyReceiver>();
        Socket listener;
        EndPoint bound;
        uint port;
        switch (endPoint)
        {
            case VmciEndPoint vsock:
                listener = options.SocketType == SocketType.Stream ? VmciSocket.Listen(vsock, options.Backlog) : VmciSocket.ListenSeqpacket(vsock, options.Backlog);
                VmciEndPoint local = VmciSocket.GetLocalEndPoint(listener);
                bound = new VmciEndPoint(vsock.Cid, local.Port, vsock.Flags);
                port = local.Port;
                break;
            case HybridVsockEndPoint hybrid:
                if (options.SocketType != SocketType.Stream)
                {
                    throw new ArgumentException("Hybrid vsock (Firecracker, Cloud Hypervisor) carries stream connections only: use SocketType.Stream, and give guests a vsock-stream: address.", nameof(options));
                }

                listener = HybridVsockSocket.Listen(hybrid, options.Backlog);
                bound = hybrid;
                port = hybrid.Port;
                break;
            default:
                throw new ArgumentException($"A notify receiver listens on a vsock endpoint (vsock://any:PORT) or a hybrid vsock one (hvsock:///PATH:PORT), not on {endPoint}.", nameof(endPoint));
        }

        var guestAddress = new VmciNotifyAddress(new VmciEndPoint(VmciCid.Host, port), options.SocketType);
        NotifyLog.Listening(logger, bound, options.SocketType == SocketType.Stream ? "stream, one message per connection" : "seqpacket, one message per packet", guestAddress);
        return new VmciNotifyReceiver(listener, bound, guestAddress, options, logger, meterFactory is null ? null : new NotifyMetrics(meterFactory));
    }

    /// <summary>
    /// Every notification as it arrives, from every guest, until the receiver is disposed. Unread ones wait (up to
    /// <see cref="VmciNotifyReceiverOptions.Capacity"/>, then the oldest are dropped); each is read by one reader.
    /// </summary>
    public IAsyncEnumerable<VmciNotification> ReadAllAsync(CancellationToken cancellationToken = default)
        => _notifications.Reader.ReadAllAsync(cancellationToken);

    /// <summary>
    /// Waits for <c>READY=1</c> from the guest <paramref name="cid"/>; returns at once if it came already (since this
    /// receiver started). The common case of a host that starts a VM and waits until it serves.
    /// </summary>
    /// <returns>The message that carried <c>READY=1</c>.</returns>
    /// <exception cref="TimeoutException">None came within <paramref name="timeout"/>; the message names the CID, the port and what the guest did send.</exception>
    /// <exception cref="ObjectDisposedException">The receiver was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<VmciNotification> WaitForReadyAsync(uint cid, TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitForReadyCoreAsync(cid, timeout, cancellationToken);

    /// <summary>
    /// Waits for <c>READY=1</c> from any sender: for a hybrid vsock receiver, whose one VM has no CID here, or a
    /// receiver given to one guest only.
    /// </summary>
    /// <inheritdoc cref="WaitForReadyAsync(uint, TimeSpan, CancellationToken)"/>
    public Task<VmciNotification> WaitForAnyReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
        => WaitForReadyCoreAsync(null, timeout, cancellationToken);

    private async Task<VmciNotification> WaitForReadyCoreAsync(uint? cid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var ready = new TaskCompletionSource<VmciNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        (uint?, TaskCompletionSource<VmciNotification>) waiter = (cid, ready);
        lock (_lock)
        {
            VmciNotification? seen = cid is uint c ? _readyByCid.GetValueOrDefault(c) : _firstReady;
            if (seen is not null)
            {
                return seen;
            }

            _waiters.Add(waiter);
        }

        try
        {
            return await ready.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(NotReadyMessage(cid, timeout));
        }
        finally
        {
            lock (_lock)
            {
                _waiters.Remove(waiter);
            }
        }
    }

    private string NotReadyMessage(uint? cid, TimeSpan timeout)
    {
        string who = cid is uint c ? string.Create(CultureInfo.InvariantCulture, $"CID {c}") : "any guest";
        string heard;
        (string Detail, DateTimeOffset At)? refusal;
        lock (_lock)
        {
            VmciNotification? last = cid is uint k ? _lastByCid.GetValueOrDefault(k) : _lastByCid.Values.MaxBy(n => n.ReceivedAt);
            heard = last is null
                ? string.Create(CultureInfo.InvariantCulture, $"nothing was received from {who}")
                : string.Create(CultureInfo.InvariantCulture, $"the last message from {who} was '{last}' at {last.ReceivedAt:HH:mm:ss.fff}");
            refusal = cid is uint r
                ? _lastRefusalByCid.TryGetValue(r, out var byCid) ? byCid : null
                : _lastRefusalByCid.Count > 0 ? _lastRefusalByCid.Values.MaxBy(f => f.At) : null;
        }

        // Why a guest's messages were refused is the likeliest answer to "why no READY=1", so the wait names it
        // rather than leaving the reader to find the log line.
        long rejected = RejectedMessages;
        string refusedNote = rejected == 0 ? ""
            : refusal is { } f
                ? string.Create(CultureInfo.InvariantCulture, $"; {rejected} message(s) were refused, the last from {who} at {f.At:HH:mm:ss.fff} because {f.Detail} (log event 42)")
                : string.Create(CultureInfo.InvariantCulture, $"; {rejected} message(s) were refused, none from {who} (log event 42)");
        return string.Create(CultureInfo.InvariantCulture,
            $"No READY=1 from {who} on {EndPoint} (port {GuestAddress.EndPoint.Port}) within {timeout.TotalSeconds:0.###} s: {heard}{refusedNote}. Check that the guest was given {GuestAddress} (NOTIFY_SOCKET, or the vmm.notify_socket credential for systemd 254 and later) and that it reaches this host.");
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_stop.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || _stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue; // the sender gave up before the accept: nothing to read
            }
            catch (SocketException ex)
            {
                // Out of descriptors or buffers: say so once in a while and keep listening; ending here would stop
                // readiness for every guest while the host app looks healthy.
                if (_acceptLog.TryEnter(out long suppressed))
                {
                    NotifyLog.AcceptFailed(_logger, EndPoint, suppressed, ex);
                }

                try
                {
                    await Task.Delay(AcceptRetryDelay, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Task handler = HandleAsync(accepted);
            _handlers.TryAdd(handler, 0);
            _ = handler.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _handlers, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        uint? cid = null;
        uint? port = null;
        bool counted = false;
        try
        {
            if (socket.RemoteEndPoint is VmciEndPoint remote)
            {
                (cid, port) = (remote.Cid, remote.Port);
            }

            // A hybrid receiver serves one VM, which the hypervisor does not name: it is counted as one peer.
            uint key = cid ?? VmciCid.Any;
            if (!_connections.TryAdd(key, _options.MaxConnectionsPerCid))
            {
                Refuse(cid, port, NotifyRefusal.ConnectionLimit, string.Create(CultureInfo.InvariantCulture,
                    $"{(cid is null ? "the VM" : $"CID {cid}")} already has {_options.MaxConnectionsPerCid} notify connections open (MaxConnectionsPerCid); closed this one unread"));
                return;
            }

            counted = true;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(_options.MessageTimeout);
            byte[] buffer = new byte[_options.MaxMessageBytes + 1];
            try
            {
                if (_options.SocketType == SocketType.Stream)
                {
                    await ReadStreamMessageAsync(socket, buffer, cid, port, deadline.Token).ConfigureAwait(false);
                }
                else
                {
                    await ReadPacketsAsync(socket, buffer, cid, port, deadline.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                Refuse(cid, port, NotifyRefusal.Timeout, string.Create(CultureInfo.InvariantCulture,
                    $"it did not end within {_options.MessageTimeout.TotalSeconds:0.###} s (MessageTimeout); a sender shuts its side down after the message"));
            }
            catch (SocketException ex)
            {
                Refuse(cid, port, NotifyRefusal.ReceiveFailed, $"the connection failed while it was read ({ex.SocketErrorCode}: {ex.Message})");
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed while reading.
        }
        catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Whatever else one sender causes ends that sender's connection, never the receiver.
            Refuse(cid, port, NotifyRefusal.ReceiveFailed, $"reading it failed ({ex.GetType().Name}: {ex.Message})");
        }
        finally
        {
            // Closing is the answer the sender waits for.
            socket.Dispose();
            if (counted)
            {
                _connections.Release(cid ?? VmciCid.Any);
            }
        }
    }

    /// <summary>A stream carries one message, ended by the sender's shutdown: read to EOF, at most the limit.</summary>
    private async Task ReadStreamMessageAsync(Socket socket, byte[] buffer, uint? cid, uint? port, CancellationToken cancellationToken)
    {
        int length = 0;
        while (true)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (length > _options.MaxMessageBytes)
            {
                Refuse(cid, port, NotifyRefusal.Oversized, string.Create(CultureInfo.InvariantCulture, $"it is longer than {_options.MaxMessageBytes} bytes (MaxMessageBytes); closed it unread"));
                return;
            }
        }

        Deliver(buffer.AsSpan(0, length), cid, port);
    }

    /// <summary>A seqpacket connection carries one message per packet, until the sender shuts it down.</summary>
    private async Task ReadPacketsAsync(Socket socket, byte[] buffer, uint? cid, uint? port, CancellationToken cancellationToken)
    {
        while (true)
        {
            // One receive is one packet; a packet longer than the buffer fills it (the rest is discarded), so a
            // full buffer means too long.
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return;
            }

            if (read > _options.MaxMessageBytes)
            {
                Refuse(cid, port, NotifyRefusal.Oversized, string.Create(CultureInfo.InvariantCulture, $"a packet is longer than {_options.MaxMessageBytes} bytes (MaxMessageBytes); closed the connection"));
                return;
            }

            Deliver(buffer.AsSpan(0, read), cid, port);
        }
    }

    private void Deliver(ReadOnlySpan<byte> message, uint? cid, uint? port)
    {
        if (!NotifyMessageParser.TryParse(message, out List<KeyValuePair<string, string>> fields, out NotifyRefusal refusal, out string detail))
        {
            Refuse(cid, port, refusal, detail);
            return;
        }

        var notification = new VmciNotification(cid, port, fields, DateTimeOffset.UtcNow);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            NotifyLog.Received(_logger, VmciNotification.DescribePeer(cid, port), EndPoint, string.Join(' ', fields.Select(f => $"{f.Key}={f.Value}")));
        }

        List<TaskCompletionSource<VmciNotification>>? woken = null;
        lock (_lock)
        {
            uint key = cid ?? VmciCid.Any;
            _lastByCid[key] = notification;
            if (notification.IsReady)
            {
                _readyByCid.TryAdd(key, notification);
                _firstReady ??= notification;
                foreach ((uint? waitCid, TaskCompletionSource<VmciNotification> ready) in _waiters)
                {
                    if (waitCid is null || waitCid == cid)
                    {
                        (woken ??= []).Add(ready);
                    }
                }
            }
        }

        _notifications.Writer.TryWrite(notification);
        if (woken is not null)
        {
            foreach (TaskCompletionSource<VmciNotification> ready in woken)
            {
                ready.TrySetResult(notification);
            }
        }
    }

    private void Refuse(uint? cid, uint? port, NotifyRefusal reason, string detail)
    {
        Interlocked.Increment(ref _rejected);
        lock (_lock)
        {
            _lastRefusalByCid[cid ?? VmciCid.Any] = (detail, DateTimeOffset.UtcNow);
        }

        _metrics?.Rejected(reason, cid);
        if (_refusedLog.TryEnter(out long suppressed))
        {
            NotifyLog.Refused(_logger, VmciNotification.DescribePeer(cid, port), EndPoint, detail, suppressed);
        }
    }

    /// <summary>Stops listening, closes open connections, ends <see cref="ReadAllAsync"/> and removes a hybrid socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_handlers.Keys).ConfigureAwait(false);
        if (EndPoint is HybridVsockEndPoint hybrid)
        {
            // Ours to remove: a socket file left behind would be "stale" to the next start.
            File.Delete(hybrid.ListenPath);
        }

        _notifications.Writer.TryComplete();
        lock (_lock)
        {
            foreach ((_, TaskCompletionSource<VmciNotification> ready) in _waiters)
            {
                ready.TrySetException(new ObjectDisposedException(nameof(VmciNotifyReceiver)));
            }
        }

        _stop.Dispose();
        NotifyLog.Stopped(_logger, EndPoint);
    }
}

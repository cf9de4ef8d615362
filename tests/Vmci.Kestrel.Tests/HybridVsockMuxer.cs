using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Vmci.Native;
using Vmci.Testing;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// A stand-in for Firecracker's vsock muxer, following its docs/vsock.md: the VM's vsock device is the Unix
/// socket <see cref="UdsPath"/>. Host to guest: it reads one command line (at most 32 bytes, <c>connect</c>
/// in any case), connects over real vsock to CID 1 at that port (the sandbox VM plays the guest), answers
/// <c>OK HOSTPORT</c> with host ports from 1 &lt;&lt; 30 up and splices both ways; when the guest does not accept,
/// or the line is bad, it closes without a word. Guest to host (<see cref="ForwardGuestToHost"/>): it accepts
/// vsock connections and connects each to <c>UdsPath_PORT</c>, resetting the guest when nothing listens there.
/// Test knobs script the failures real muxers show: early closes, silence, wrong or oversized answers.
/// </summary>
internal sealed class HybridVsockMuxer : IAsyncDisposable
{
    private const int MaxCommandBytes = 32;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly Channel<string> _commands = Channel.CreateUnbounded<string>();
    private uint _nextHostPort = 1u << 30;
    private int _dropFirst;
    private int _attempts;

    private HybridVsockMuxer(string directory, string udsPath, Socket listener)
    {
        Directory = directory;
        UdsPath = udsPath;
        _listener = listener;
        _ = AcceptEachAsync(listener, HandleAsync);
    }

    /// <summary>A directory of its own, where the socket and its <c>_PORT</c> siblings live.</summary>
    public string Directory { get; }

    /// <summary>The VM's vsock socket (<c>uds_path</c>).</summary>
    public string UdsPath { get; }

    /// <summary>Closes this many connections without a word after reading their command (a guest not up yet).</summary>
    public int DropFirst { set => Volatile.Write(ref _dropFirst, value); }

    /// <summary>Answers with these bytes instead of connecting the guest (a muxer that is not Firecracker's).</summary>
    public byte[]? Reply { get; set; }

    /// <summary>Holds the answer until this completes (a slow guest); never completing it is a silent muxer.</summary>
    public Task? AckGate { get; set; }

    /// <summary>Reads the guest's first bytes before answering and sends them in the same write as the <c>OK</c> line.</summary>
    public bool CoalesceFirstGuestBytes { get; set; }

    /// <summary>
    /// Reads the command with one receive and accepts only <c>CONNECT </c> or <c>connect </c> with the newline in that
    /// same read, closing on anything else: a client whose line arrives in pieces, or without its newline, fails here
    /// (Cloud Hypervisor's muxer takes exactly those two spellings; one of its releases crashed on a line cut short).
    /// </summary>
    public bool CommandInOneRead { get; set; }

    /// <summary>How many command lines were read.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>The next command line read, for tests that act while the muxer is mid-handshake.</summary>
    public ValueTask<string> NextCommandAsync(CancellationToken cancellationToken) => _commands.Reader.ReadAsync(cancellationToken);

    public static HybridVsockMuxer Start()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"hv-{Guid.NewGuid():N}"[..12]);
        System.IO.Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "fc.vsock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        return new HybridVsockMuxer(directory, path, listener);
    }

    public HybridVsockEndPoint GuestPort(uint port) => new(UdsPath, port);

    /// <summary>
    /// Leaves a socket file at <paramref name="path"/> that nobody listens on, as a killed server does. .NET removes
    /// the file of a socket it bound when the socket is disposed, so bind elsewhere and hard-link it (ln) first.
    /// </summary>
    public static void CreateStaleSocketFile(string path)
    {
        string bound = path + ".bound";
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(bound));
        using var ln = System.Diagnostics.Process.Start("ln", [bound, path]);
        ln.WaitForExit();
        if (ln.ExitCode != 0)
        {
            throw new InvalidOperationException($"ln {bound} {path} failed with exit code {ln.ExitCode}");
        }
    }

    /// <summary>
    /// Accepts guests' vsock connections to a port of CID 1 (standing for the host's CID 2, port
    /// <paramref name="hostPort"/>) and carries each to <c>UdsPath_hostPort</c>. Returns where a guest connects.
    /// </summary>
    public VmciEndPoint ForwardGuestToHost(uint hostPort)
    {
        (Socket listener, VmciEndPoint target) = TestSockets.ListenOnLoopback();
        _sockets.Add(listener);
        string path = string.Create(CultureInfo.InvariantCulture, $"{UdsPath}_{hostPort}");
        _ = AcceptEachAsync(listener, async guest =>
        {
            var host = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _sockets.Add(host);
            try
            {
                await host.ConnectAsync(new UnixDomainSocketEndPoint(path), _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                // Nothing listens on the host: reset the guest, as Firecracker does.
                guest.LingerState = new LingerOption(true, 0);
                guest.Dispose();
                return;
            }

            await SpliceAsync(guest, host);
        });
        return target;
    }

    /// <summary>Accepts until disposed; each connection is handled on its own.</summary>
    private async Task AcceptEachAsync(Socket listener, Func<Socket, Task> handle)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _sockets.Add(accepted);
            _ = Task.Run(() => handle(accepted));
        }
    }

    private async Task HandleAsync(Socket client)
    {
        try
        {
            if (await ReadCommandAsync(client) is not uint port)
            {
                client.Dispose();
                return;
            }

            if (Interlocked.Decrement(ref _dropFirst) >= 0)
            {
                client.Dispose();
                return;
            }

            if (AckGate is { } gate)
            {
                await gate.WaitAsync(_stop.Token);
            }

            if (Reply is { } reply)
            {
                await client.SendAsync(reply, SocketFlags.None, _stop.Token);
                client.Shutdown(SocketShutdown.Send);
                return;
            }

            Socket guest;
            try
            {
                guest = await TestSockets.ConnectAsync(new VmciEndPoint(VmciCid.Local, port), _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose(); // the guest did not accept: close without a word
                return;
            }

            _sockets.Add(guest);
            byte[] ok = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"OK {Interlocked.Increment(ref _nextHostPort) - 1}\n"));
            if (CoalesceFirstGuestBytes)
            {
                byte[] first = new byte[4096];
                int n = await guest.ReceiveAsync(first, SocketFlags.None, _stop.Token);
                ok = [.. ok, .. first.AsSpan(0, n)];
            }

            await client.SendAsync(ok, SocketFlags.None, _stop.Token);
            await SpliceAsync(client, guest);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            client.Dispose();
        }
    }

    /// <summary>One line of at most 32 bytes, read byte by byte as Firecracker does; null when it is not <c>connect PORT</c>.</summary>
    private async Task<uint?> ReadCommandAsync(Socket client)
    {
        if (CommandInOneRead)
        {
            byte[] read = new byte[MaxCommandBytes];
            int n = await client.ReceiveAsync(read, SocketFlags.None, _stop.Token);
            string text = Encoding.ASCII.GetString(read, 0, n);
            Interlocked.Increment(ref _attempts);
            _commands.Writer.TryWrite(text);
            return (text.StartsWith("CONNECT ", StringComparison.Ordinal) || text.StartsWith("connect ", StringComparison.Ordinal)) && text.EndsWith('\n')
                && uint.TryParse(text.AsSpan(8, text.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out uint one) ? one : null;
        }

        byte[] line = new byte[MaxCommandBytes];
        int length = 0;
        while (length < MaxCommandBytes)
        {
            if (await client.ReceiveAsync(line.AsMemory(length, 1), SocketFlags.None, _stop.Token) == 0)
            {
                return null;
            }

            if (line[length++] == (byte)'\n')
            {
                string text = Encoding.ASCII.GetString(line, 0, length - 1);
                Interlocked.Increment(ref _attempts);
                _commands.Writer.TryWrite(text);
                string[] words = text.Split(' ');
                return words.Length == 2 && words[0].Equals("connect", StringComparison.OrdinalIgnoreCase)
                    && uint.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint port) ? port : null;
            }
        }

        return null;
    }

    private static async Task SpliceAsync(Socket a, Socket b)
    {
        await Task.WhenAll(PumpAsync(a, b), PumpAsync(b, a));
        a.Dispose();
        b.Dispose();
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                for (int sent = 0; sent < n;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                }
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // One side went away: the other ends with it.
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }

        _stop.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

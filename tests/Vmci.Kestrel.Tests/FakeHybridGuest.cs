using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;

namespace Vmci.Kestrel.Tests;

/// <summary>
/// A hybrid vsock guest made of one Unix socket and no VM: it answers a muxer's <c>CONNECT PORT\n</c> with
/// <c>OK ...\n</c> and then a fixed HTTP answer. For host tests of the vmci tool that must reach a guest (or prove
/// that they did not) without connecting to any vsock CID from this machine.
/// </summary>
internal sealed class FakeHybridGuest : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _connections;

    private FakeHybridGuest(string directory, string fileName, string body)
    {
        Directory = directory;
        UdsPath = Path.Combine(directory, fileName);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(UdsPath));
        _listener.Listen(16);
        _accepting = AcceptAsync(Encoding.ASCII.GetBytes($"OK 1073741824\nHTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
    }

    public string Directory { get; }

    public string UdsPath { get; }

    /// <summary>How many clients connected to the socket file (each one a muxer connection).</summary>
    public int Connections => Volatile.Read(ref _connections);

    public HybridVsockEndPoint GuestPort(uint port) => new(UdsPath, port);

    /// <summary>Starts one in a new private directory; <paramref name="directory"/> names it, under the temp folder.</summary>
    public static FakeHybridGuest Start(string body = "guest", string fileName = "fc.vsock", string? directory = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), $"vmci-fake-{Guid.NewGuid():N}"[..24]);
        System.IO.Directory.CreateDirectory(directory);
        return new FakeHybridGuest(directory, fileName, body);
    }

    private async Task AcceptAsync(byte[] answer)
    {
        try
        {
            while (true)
            {
                Socket connection = await _listener.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                _ = Task.Run(() => AnswerAsync(connection, answer));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Disposed: the test is over.
        }
    }

    private async Task AnswerAsync(Socket connection, byte[] answer)
    {
        using (connection)
        {
            try
            {
                // The CONNECT line, then the request's headers; the answer is the same whatever was asked.
                await ReadUntilAsync(connection, "\n"u8.ToArray());
                await connection.SendAsync(answer.AsMemory(0, answer.AsSpan().IndexOf((byte)'\n') + 1), SocketFlags.None, _stop.Token);
                await ReadUntilAsync(connection, "\r\n\r\n"u8.ToArray());
                await connection.SendAsync(answer.AsMemory(answer.AsSpan().IndexOf((byte)'\n') + 1), SocketFlags.None, _stop.Token);
                connection.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
            {
                // The client went away: nothing to answer.
            }
        }
    }

    private async Task ReadUntilAsync(Socket connection, byte[] end)
    {
        var seen = new MemoryStream();
        byte[] one = new byte[1];
        while (!seen.ToArray().AsSpan().EndsWith(end))
        {
            if (await connection.ReceiveAsync(one, SocketFlags.None, _stop.Token) == 0)
            {
                throw new IOException("the client closed before the end of its request");
            }

            seen.WriteByte(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        _stop.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

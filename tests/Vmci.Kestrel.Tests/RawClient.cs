using System;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Native;
using Vmci.Testing;

namespace Vmci.Kestrel.Tests;

/// <summary>A bare vsock socket that speaks HTTP by hand, for what HttpClient will not do (half-close, pipelining, stalls).</summary>
internal sealed class RawClient : IDisposable
{
    private RawClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<RawClient> ConnectAsync(VmciEndPoint target, CancellationToken cancellationToken)
        => new(await TestSockets.ConnectAsync(target, cancellationToken));

    public async Task SendAsync(string text, CancellationToken cancellationToken)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>Everything until the server closes its side.</summary>
    public async Task<string> ReceiveToEndAsync(CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[16384];
        int n;
        while ((n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    /// <summary>Everything until the peer closes; a reset counts as the end (what was read so far is kept).</summary>
    public static async Task<string> ReceiveToEndOrResetAsync(Socket socket, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[16384];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(60), cancellationToken)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
        }

        return text.ToString();
    }

    public void Dispose() => Socket.Dispose();
}

using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Vmci.Kestrel;
using Vmci.Native;

/// <summary>The three transports under test, named by a target string, with the same client code above them.</summary>
internal static class Transports
{
    /// <summary>SO_VM_SOCKETS_BUFFER_SIZE of vsock client sockets (--vsock-buffer); the project's default otherwise.</summary>
    public static ulong VsockBufferSize { get; set; } = VmciTransportOptions.DefaultBufferSize;

    /// <summary>An HttpClient handler whose connections go to the target (vsock://CID:PORT, tcp://IP:PORT, unix:/path).</summary>
    public static SocketsHttpHandler CreateHandler(string target, int maxConnections) => new()
    {
        MaxConnectionsPerServer = maxConnections,
        EnableMultipleHttp2Connections = true,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        // vsock goes through the project's own client; the others through a plain socket, as HttpClient would.
        ConnectCallback = target.StartsWith("vsock:", StringComparison.Ordinal)
            ? VmciHttp.ConnectTo(VmciEndPoint.Parse(target), new VmciConnectionFactoryOptions { BufferSize = VsockBufferSize })
            : async (_, ct) => new NetworkStream(await ConnectAsync(target, ct), ownsSocket: true),
    };

    /// <summary>A connected socket to the target.</summary>
    public static async ValueTask<Socket> ConnectAsync(string target, CancellationToken cancellationToken)
    {
        if (target.StartsWith("vsock:", StringComparison.Ordinal))
        {
            // As the project's client does: the window is set before connect, so the handshake announces it.
            Socket vsock = VmciSocket.Create();
            try
            {
                vsock.SetVmciBufferSize(VsockBufferSize);
                await VmciSocket.ConnectAsync(vsock, VmciEndPoint.Parse(target), cancellationToken);
                return vsock;
            }
            catch
            {
                vsock.Dispose();
                throw;
            }
        }

        (Socket socket, EndPoint endPoint) = target switch
        {
            _ when target.StartsWith("tcp://", StringComparison.Ordinal) =>
                (new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }, (EndPoint)IPEndPoint.Parse(target["tcp://".Length..])),
            _ when target.StartsWith("unix:", StringComparison.Ordinal) =>
                (new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified), new UnixDomainSocketEndPoint(target["unix:".Length..])),
            _ => throw new ArgumentException($"--target '{target}': expected vsock://CID:PORT, tcp://IP:PORT or unix:/path"),
        };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

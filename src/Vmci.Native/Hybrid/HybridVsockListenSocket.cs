using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// The listening socket <see cref="HybridVsockSocket.Listen(HybridVsockEndPoint, int, System.IO.UnixFileMode)"/>
/// returns: disposing it removes its socket file at <see cref="HybridVsockEndPoint.ListenPath"/>, but only while
/// that file is still the one it bound (a successor's socket at the same path stays). .NET itself would unlink
/// by name, the temporary name this socket was bound under, which is long gone by then.
/// </summary>
internal sealed class HybridVsockListenSocket : Socket
{
    private readonly HybridVsockEndPoint _endPoint;
    private HybridVsockSocketFile.FileId? _file;

    internal HybridVsockListenSocket(HybridVsockEndPoint endPoint)
        : base(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
    {
        _endPoint = endPoint;
    }

    /// <summary>The socket file is at <see cref="HybridVsockEndPoint.ListenPath"/> now, as <paramref name="file"/>.</summary>
    internal void Own(HybridVsockSocketFile.FileId file) => _file = file;

    protected override void Dispose(bool disposing)
    {
        // While this socket is open its inode cannot be reused, so the comparison is sound: remove first, close after.
        if (disposing && _file is { } file)
        {
            _file = null;
            HybridVsockSocketFile.Remove(_endPoint, _endPoint.ListenPath, file);
        }

        base.Dispose(disposing);
    }
}

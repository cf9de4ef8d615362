using System.Net.Sockets;
using System.Threading;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

internal sealed partial class VmciConnectionListener
{
    /// <summary>Whether <see cref="UnbindAsync"/> ran.</summary>
    internal bool IsUnbound => Volatile.Read(ref _unbound) != 0;

    /// <summary>Serves a listening vsock socket this process inherited (systemd socket activation, <c>ListenHandle</c>).</summary>
    /// <remarks>The backlog is the one its creator chose (<c>Backlog=</c> in a socket unit); the buffer sizes are set as for a bound endpoint.</remarks>
    internal static VmciConnectionListener Adopt(int fileDescriptor, string? name, VmciListenerContext context)
    {
        Socket socket = VmciListenerDescriptors.Take(fileDescriptor);
        try
        {
            VmciTransportOptions options = context.Options;
            socket.SetVmciBufferSizes(options.BufferSize, options.BufferMinSize, options.BufferMaxSize);
            VmciEndPoint bound = VmciSocket.GetLocalEndPoint(socket);
            var listener = new VmciConnectionListener(socket, bound, context);
            VmciTransportLog.ListeningInherited(context.Logger, bound, fileDescriptor, name ?? "(no LISTEN_FDNAMES entry)");
            return listener;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

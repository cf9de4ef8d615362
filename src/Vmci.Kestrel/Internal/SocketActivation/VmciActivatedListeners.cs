using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Vmci.Native;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// The inherited vsock listeners of one transport, by descriptor. Kestrel's <c>UseSystemd()</c> lists every
/// inherited socket and <c>UseVmci()</c> the vsock ones, so one descriptor may be bound twice: it is served once.
/// </summary>
internal sealed class VmciActivatedListeners
{
    private readonly Dictionary<int, VmciConnectionListener> _served = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// A listening vsock socket's descriptor handed to Kestrel's <c>ListenHandle</c>: one this transport serves
    /// already (listed a second time), or one that <see cref="VmciListenerDescriptors"/> finds to be a vsock listener.
    /// </summary>
    public bool IsVsockHandle(EndPoint endPoint, out int fileDescriptor)
    {
        fileDescriptor = endPoint is FileHandleEndPoint handle && handle.FileHandle <= int.MaxValue ? (int)handle.FileHandle : -1;
        if (fileDescriptor < 0)
        {
            return false;
        }

        lock (_lock)
        {
            if (_served.TryGetValue(fileDescriptor, out VmciConnectionListener? served) && !served.IsUnbound)
            {
                return true;
            }
        }

        return VmciListenerDescriptors.IsVsockListener(fileDescriptor);
    }

    public IConnectionListener Bind(int fileDescriptor, VmciListenerContext context)
    {
        lock (_lock)
        {
            if (_served.TryGetValue(fileDescriptor, out VmciConnectionListener? served) && !served.IsUnbound)
            {
                VmciTransportLog.InheritedListedTwice(context.Logger, fileDescriptor, (VmciEndPoint)served.EndPoint);
                return new AlreadyServed(served.EndPoint);
            }

            VmciConnectionListener listener = VmciConnectionListener.Adopt(fileDescriptor, VmciSocketActivation.Find(fileDescriptor)?.Name, context);
            _served[fileDescriptor] = listener;
            return listener;
        }
    }

    /// <summary>The second listing of a served descriptor: accepts nothing, so Kestrel's accept loop for it ends at once.</summary>
    private sealed class AlreadyServed(EndPoint endPoint) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = endPoint;

        public ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult<ConnectionContext?>(null);

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

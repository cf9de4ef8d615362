using Vmci.Native;

namespace Vmci.Kestrel.Internal;

internal sealed class VmciConnectionFeature(VmciEndPoint localEndPoint, VmciEndPoint remoteEndPoint) : IVmciConnectionFeature
{
    public VmciEndPoint LocalEndPoint { get; } = localEndPoint;

    public VmciEndPoint RemoteEndPoint { get; } = remoteEndPoint;
}

using Vmci.Native;

namespace Vmci.Kestrel.Internal;

internal sealed class HybridVsockConnectionFeature(HybridVsockEndPoint endPoint) : IHybridVsockConnectionFeature
{
    public HybridVsockEndPoint EndPoint { get; } = endPoint;
}

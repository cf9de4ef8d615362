using Microsoft.AspNetCore.Http;

namespace Vmci.Kestrel;

/// <summary>Reach the vsock connection of a request.</summary>
public static class VmciHttpContextExtensions
{
    /// <summary>
    /// The vsock peer of this request's connection (CID and port), or null when the request did not
    /// arrive over vsock.
    /// </summary>
    public static IVmciConnectionFeature? GetVmciConnection(this HttpContext context)
    {
        System.ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IVmciConnectionFeature>();
    }

    /// <summary>
    /// The VM socket and vsock port of this request's connection when it came through a hypervisor's hybrid
    /// vsock Unix socket (Firecracker, Cloud Hypervisor), or null otherwise.
    /// </summary>
    public static IHybridVsockConnectionFeature? GetHybridVsockConnection(this HttpContext context)
    {
        System.ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IHybridVsockConnectionFeature>();
    }
}

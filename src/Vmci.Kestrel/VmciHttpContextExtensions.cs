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
}

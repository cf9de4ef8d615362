using System;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Vmci.Kestrel.Internal;

/// <summary>Adds a vsock endpoint of any kind to Kestrel's options.</summary>
internal static class VmciKestrelListen
{
    /// <summary>The one way every vsock endpoint kind, from code or configuration, reaches Kestrel.</summary>
    internal static void Listen(KestrelServerOptions options, EndPoint endPoint, Action<ListenOptions> configure, string caller)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(configure);
        if (options.ApplicationServices is { } services && services.GetService<VmciTransportMarker>() is null)
        {
            throw new InvalidOperationException(
                $"{caller}({endPoint}) needs the vsock transport: call builder.WebHost.UseVmci() (or UseVmci(cid, port)) when building the host.");
        }

        options.Listen(endPoint, listen =>
        {
            listen.Use(VmciConnectionMetricsTags.AddPeerCid);
            configure(listen);
        });
    }
}

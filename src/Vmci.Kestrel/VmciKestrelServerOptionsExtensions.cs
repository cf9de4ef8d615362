using System;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Vmci.Native;

namespace Vmci.Kestrel;

/// <summary>Listen on vsock endpoints, the way <c>Listen</c> and <c>ListenUnixSocket</c> do for others.</summary>
public static class VmciKestrelServerOptionsExtensions
{
    /// <summary>Listens on <paramref name="cid"/> and <paramref name="port"/> over vsock.</summary>
    public static void ListenVmci(this KestrelServerOptions options, uint cid, uint port)
        => options.ListenVmci(new VmciEndPoint(cid, port), static _ => { });

    /// <summary>Listens on <paramref name="cid"/> and <paramref name="port"/> over vsock, with protocols, HTTPS or connection middleware set in <paramref name="configure"/>.</summary>
    public static void ListenVmci(this KestrelServerOptions options, uint cid, uint port, Action<ListenOptions> configure)
        => options.ListenVmci(new VmciEndPoint(cid, port), configure);

    /// <summary>Listens on <paramref name="endPoint"/> over vsock, with protocols, HTTPS or connection middleware set in <paramref name="configure"/>.</summary>
    /// <exception cref="InvalidOperationException">The vsock transport is not registered (call <c>UseVmci</c>).</exception>
    public static void ListenVmci(this KestrelServerOptions options, VmciEndPoint endPoint, Action<ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(configure);
        if (options.ApplicationServices is { } services && services.GetService<VmciTransportMarker>() is null)
        {
            throw new InvalidOperationException(
                $"ListenVmci({endPoint}) needs the vsock transport: call builder.WebHost.UseVmci() (or UseVmci(cid, port)) when building the host.");
        }

        options.Listen(endPoint, listen =>
        {
            listen.Use(VmciConnectionMetricsTags.AddPeerCid);
            configure(listen);
        });
    }
}

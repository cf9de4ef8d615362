using System;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Vmci.Kestrel;
using Vmci.Kestrel.Internal;
using Vmci.Native;

namespace Microsoft.AspNetCore.Hosting;

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
        => VmciKestrelListen.Listen(options, endPoint, configure, nameof(ListenVmci));

    /// <summary>
    /// Serves guests of a Firecracker or Cloud Hypervisor VM that connect to the host (CID 2) at vsock port
    /// <paramref name="port"/>: the hypervisor hands those connections to the Unix socket
    /// <c><paramref name="udsPath"/>_<paramref name="port"/></c>, where this listens.
    /// </summary>
    /// <param name="options">Kestrel's options.</param>
    /// <param name="udsPath">The VM's vsock Unix socket (<c>uds_path</c>), an absolute path.</param>
    /// <param name="port">The host port the guests dial.</param>
    public static void ListenHybridVsock(this KestrelServerOptions options, string udsPath, uint port)
        => options.ListenHybridVsock(new HybridVsockEndPoint(udsPath, port), static _ => { });

    /// <summary>Like <see cref="ListenHybridVsock(KestrelServerOptions, string, uint)"/>, with protocols, HTTPS or connection middleware set in <paramref name="configure"/>.</summary>
    /// <param name="options">Kestrel's options.</param>
    /// <param name="udsPath">The VM's vsock Unix socket (<c>uds_path</c>), an absolute path.</param>
    /// <param name="port">The host port the guests dial.</param>
    /// <param name="configure">Protocols, HTTPS, connection middleware.</param>
    public static void ListenHybridVsock(this KestrelServerOptions options, string udsPath, uint port, Action<ListenOptions> configure)
        => options.ListenHybridVsock(new HybridVsockEndPoint(udsPath, port), configure);

    /// <summary>
    /// Listens at <see cref="HybridVsockEndPoint.ListenPath"/> (<c>PATH_PORT</c>) for guests' connections to the host,
    /// with protocols, HTTPS or connection middleware set in <paramref name="configure"/>. A socket file left by a
    /// server that has gone is replaced; a live one is not.
    /// </summary>
    /// <exception cref="InvalidOperationException">The vsock transport is not registered (call <c>UseVmci</c>).</exception>
    public static void ListenHybridVsock(this KestrelServerOptions options, HybridVsockEndPoint endPoint, Action<ListenOptions> configure)
        => VmciKestrelListen.Listen(options, endPoint, configure, nameof(ListenHybridVsock));
}

using System;
using System.Net;
using Vmci.Kestrel;
using Vmci.Native;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>IHttpClientFactory clients over vsock.</summary>
public static class VmciHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends this client's requests over vsock: all to <paramref name="endPoint"/> (a <see cref="VmciEndPoint"/>, or a
    /// <see cref="HybridVsockEndPoint"/> for a Firecracker or Cloud Hypervisor guest), or, when it is null, to the CID
    /// each URL names (<c>http://cid-N:PORT/</c>). With host mapping redirects are not followed (see
    /// <see cref="VmciHttp.CreateHandler"/>): a server's <c>Location</c> could name any CID.
    /// </summary>
    public static IHttpClientBuilder UseVmci(this IHttpClientBuilder builder, EndPoint? endPoint = null, Action<VmciConnectionFactoryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        VmciConnectionFactoryOptions options = Configure(configure);
        var callback = endPoint is null ? VmciHttp.ConnectWith(null, options) : VmciHttp.ConnectTo(endPoint, options);
        return builder.UseSocketsHttpHandler((handler, _) =>
        {
            handler.ConnectCallback = callback;
            if (endPoint is null)
            {
                handler.AllowAutoRedirect = false;
            }
        });
    }

    private static VmciConnectionFactoryOptions Configure(Action<VmciConnectionFactoryOptions>? configure)
    {
        var options = new VmciConnectionFactoryOptions();
        configure?.Invoke(options);
        return options;
    }
}

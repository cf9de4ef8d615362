using System;
using System.Linq;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vmci.Kestrel;
using Vmci.Kestrel.Internal;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Adds the vsock transport to a web host.</summary>
public static class VmciWebHostBuilderExtensions
{
    /// <summary>
    /// Serves HTTP over vsock on <paramref name="cid"/> and <paramref name="port"/>:
    /// <c>builder.WebHost.UseVmci(VmciCid.Any, 8080)</c>.
    /// </summary>
    /// <remarks>Other endpoints (TCP, Unix sockets, more vsock ports) can be added beside it as usual.</remarks>
    public static IWebHostBuilder UseVmci(this IWebHostBuilder hostBuilder, uint cid, uint port)
        => hostBuilder.UseVmci().ConfigureKestrel(options => options.ListenVmci(cid, port));

    /// <summary>
    /// Adds the vsock transport, its options from the configuration section <c>Vmci:Transport</c>, the
    /// endpoints of <c>Vmci:Urls</c> and <c>Vmci:Endpoints</c>, and the listening vsock sockets systemd passed
    /// to the process (socket activation, see <see cref="VmciSocketActivation"/>); <c>ListenVmci</c> adds more in code.
    /// </summary>
    public static IWebHostBuilder UseVmci(this IWebHostBuilder hostBuilder) => hostBuilder.UseVmci(static _ => { });

    /// <summary>Adds the vsock transport like <see cref="UseVmci(IWebHostBuilder)"/>, then configures its options in code.</summary>
    /// <remarks>
    /// It also sends systemd's readiness over vsock when <c>NOTIFY_SOCKET</c> holds a vsock address: see <see cref="VmciNotifier"/>.
    /// </remarks>
    public static IWebHostBuilder UseVmci(this IWebHostBuilder hostBuilder, Action<VmciTransportOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(hostBuilder);
        ArgumentNullException.ThrowIfNull(configureOptions);
        return hostBuilder.ConfigureServices(services =>
        {
            services.TryAddSingleton<VmciTransportMarker>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, VmciConnectionListenerFactory>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<VmciTransportOptions>, VmciTransportOptionsSetup>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, VmciKestrelEndpointsSetup>());
            // Hosting URLs first: the decision is about the app's endpoints, not the sockets systemd passed.
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KestrelServerOptions>, VmciHostingUrls>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KestrelServerOptions>, VmciSocketActivationSetup>());
            services.Configure(configureOptions);
            AddNotifier(services);
        });
    }

    /// <summary>
    /// The guest side of the notify protocol: NOTIFY_SOCKET is read (and, when it is a vsock address, removed) once,
    /// the first time the services are configured.
    /// </summary>
    private static void AddNotifier(IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(VmciNotifySource)))
        {
            services.AddSingleton(VmciNotifySource.TakeFromEnvironment());
        }

        services.TryAddSingleton(provider => new VmciNotifier(provider.GetRequiredService<VmciNotifySource>().Address, provider.GetRequiredService<ILogger<VmciNotifier>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, VmciNotifyLifetime>());
    }
}

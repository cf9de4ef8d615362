using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Vmci.Native;
using Vmci.Testing;

namespace Vmci.Kestrel.Tests;

/// <summary>The sample dashboard through WebApplicationFactory on real Kestrel, on its own pair of vsock ports.</summary>
internal static class SampleDashboard
{
    /// <summary>Starts it; <paramref name="port"/> serves HTTP/1.1 and <paramref name="port"/> + 1 HTTP/2; <paramref name="settings"/> are further configuration values.</summary>
    public static WebApplicationFactory<Program> Start(out uint port, params (string Key, string Value)[] settings)
    {
        port = VsockServer.UrlSafePort();
        VsockServer.UrlSafePort(); // the sample takes port + 1 for HTTP/2
        string setting = port.ToString(CultureInfo.InvariantCulture);
        WebApplicationFactory<Program> factory = new WebApplicationFactory<Program>()
            .WithWebHostBuilder(b =>
            {
                b.UseSetting("Dashboard:Port", setting).ConfigureLogging(logging => logging.ClearProviders());
                foreach ((string key, string value) in settings)
                {
                    b.UseSetting(key, value);
                }
            });

        factory.UseKestrel();
        factory.StartServer();
        VsockGuard.EnsureMayConnect(new VmciEndPoint(VmciCid.Local, port));
        return factory;
    }
}

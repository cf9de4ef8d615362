using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Listens on every vsock socket systemd passed to this process, through Kestrel's own <c>ListenHandle</c>,
/// which the vsock transport binds. It runs after all other configuration, so an app's
/// <c>UseSystemd()</c> has read the environment before it is removed.
/// </summary>
internal sealed class VmciSocketActivationSetup : IPostConfigureOptions<KestrelServerOptions>
{
    public void PostConfigure(string? name, KestrelServerOptions options)
    {
        if (name != Options.DefaultName)
        {
            return;
        }

        foreach (VmciActivatedSocket listener in VmciSocketActivation.VsockListeners)
        {
            options.ListenHandle((ulong)listener.FileDescriptor);
        }

        VmciSocketActivation.ConsumeEnvironment();
    }
}

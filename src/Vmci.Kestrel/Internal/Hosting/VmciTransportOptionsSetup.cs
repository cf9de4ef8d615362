using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Reads <see cref="VmciTransportOptions"/> from the configuration section <c>Vmci:Transport</c>
/// (appsettings.json, command line <c>--Vmci:Transport:Backlog=1024</c>, environment
/// <c>Vmci__Transport__Backlog=1024</c>). A bad value fails with the setting's name.
/// </summary>
internal sealed class VmciTransportOptionsSetup(IConfiguration configuration) : IConfigureOptions<VmciTransportOptions>
{
    internal const string SectionName = "Vmci:Transport";

    public void Configure(VmciTransportOptions options)
    {
        IConfigurationSection section = configuration.GetSection(SectionName);
        if (!section.Exists())
        {
            return;
        }

        var reader = new VmciConfigurationReader(section);
        options.Backlog = reader.PositiveInt32(nameof(options.Backlog)) ?? options.Backlog;
        options.BufferSize = reader.UInt64(nameof(options.BufferSize)) ?? options.BufferSize;
        options.BufferMinSize = reader.UInt64(nameof(options.BufferMinSize)) ?? options.BufferMinSize;
        options.BufferMaxSize = reader.UInt64(nameof(options.BufferMaxSize)) ?? options.BufferMaxSize;
        options.MaxReadBufferSize = reader.Limit(nameof(options.MaxReadBufferSize), options.MaxReadBufferSize);
        options.MaxWriteBufferSize = reader.Limit(nameof(options.MaxWriteBufferSize), options.MaxWriteBufferSize);
        options.IOQueueCount = reader.NonNegativeInt32(nameof(options.IOQueueCount)) ?? options.IOQueueCount;
        options.MaxConnectionsPerPeerCid = reader.PositiveInt32(nameof(options.MaxConnectionsPerPeerCid)) ?? options.MaxConnectionsPerPeerCid;
        options.MaxBufferedBytesPerPeerCid = reader.Limit(nameof(options.MaxBufferedBytesPerPeerCid), options.MaxBufferedBytesPerPeerCid);
        options.RequirePrivilegedPeerPort = reader.Boolean(nameof(options.RequirePrivilegedPeerPort)) ?? options.RequirePrivilegedPeerPort;
        options.WaitForDataBeforeAllocatingBuffer = reader.Boolean(nameof(options.WaitForDataBeforeAllocatingBuffer)) ?? options.WaitForDataBeforeAllocatingBuffer;
        options.UnsafePreferInlineScheduling = reader.Boolean(nameof(options.UnsafePreferInlineScheduling)) ?? options.UnsafePreferInlineScheduling;
        options.HybridSocketFileMode = reader.FileMode(nameof(options.HybridSocketFileMode)) ?? options.HybridSocketFileMode;
        foreach (uint cid in reader.CidList(nameof(options.AllowedPeerCids)))
        {
            options.AllowedPeerCids.Add(cid);
        }
    }
}

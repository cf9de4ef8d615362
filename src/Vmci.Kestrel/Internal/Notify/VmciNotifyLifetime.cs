using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Vmci.Kestrel.Internal;

/// <summary>
/// Sends <c>READY=1</c> when the host has started and <c>STOPPING=1</c> when it begins to stop. ApplicationStarted
/// fires after every hosted service started, Kestrel's server included, so READY means a request now succeeds.
/// </summary>
internal sealed class VmciNotifyLifetime(VmciNotifier notifier, VmciNotifySource source, IHostApplicationLifetime lifetime, ILogger<VmciNotifier> logger) : IHostedService
{
    private CancellationTokenRegistration _started;
    private CancellationTokenRegistration _stopping;
    private Task _ready = Task.CompletedTask;
    private Task _stoppingSent = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (source.Error is { } error)
        {
            NotifyLog.AddressInvalid(logger, error);
        }

        if (notifier.IsEnabled)
        {
            // Each send has its own time limit (VmciNotifier) and never throws for a failed send.
            _started = lifetime.ApplicationStarted.Register(() => _ready = notifier.NotifyAsync("READY=1"));
            _stopping = lifetime.ApplicationStopping.Register(() => _stoppingSent = notifier.NotifyAsync("STOPPING=1"));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stopping began before this runs (ApplicationStopping fires first): let the host hear STOPPING=1, unless
        // the host's shutdown timeout runs out first.
        try
        {
            await Task.WhenAll(_ready, _stoppingSent).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _started.Dispose();
        _stopping.Dispose();
    }
}

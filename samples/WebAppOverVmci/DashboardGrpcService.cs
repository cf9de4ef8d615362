using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using WebAppOverVmci.Grpc;

namespace WebAppOverVmci;

/// <summary>
/// The dashboard for programs (Protos/dashboard.proto): the same status as <c>/api/status</c> and <c>/api/events</c>,
/// for a management agent on the host that speaks gRPC. Served on the HTTP/2 port.
/// </summary>
internal sealed class DashboardGrpcService(SystemStatus status) : Dashboard.DashboardBase
{
    public override Task<GetStatusReply> GetStatus(GetStatusRequest request, ServerCallContext context)
        => Task.FromResult(new GetStatusReply { Status = ToMessage(status.Read()), You = ToMessage(DashboardApi.Describe(context.GetHttpContext())) });

    public override async Task WatchStatus(WatchStatusRequest request, IServerStreamWriter<VmStatus> responseStream, ServerCallContext context)
    {
        using var timer = new PeriodicTimer(DashboardApi.EventInterval);
        try
        {
            do
            {
                await responseStream.WriteAsync(ToMessage(status.Read()), context.CancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(context.CancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller stopped watching: the normal end of this call.
        }
    }

    private static VmStatus ToMessage(StatusSnapshot snapshot)
    {
        var message = new VmStatus
        {
            Hostname = snapshot.Hostname,
            OperatingSystem = snapshot.OperatingSystem,
            Kernel = snapshot.Kernel,
            ProcessorCount = snapshot.ProcessorCount,
            DotnetVersion = snapshot.DotnetVersion,
            ServerStartedUnixMs = snapshot.ServerStarted.ToUnixTimeMilliseconds(),
            RequestsServed = snapshot.RequestsServed,
        };
        if (snapshot.UptimeSeconds is { } uptime)
        {
            message.UptimeSeconds = uptime;
        }

        if (snapshot.LoadAverage is { } load)
        {
            message.LoadAverage.Add(load);
        }

        if (snapshot.MemoryTotalBytes is { } total)
        {
            message.MemoryTotalBytes = total;
        }

        if (snapshot.MemoryAvailableBytes is { } available)
        {
            message.MemoryAvailableBytes = available;
        }

        if (uint.TryParse(snapshot.LocalCid, NumberStyles.None, CultureInfo.InvariantCulture, out uint cid))
        {
            message.LocalCid = cid;
        }

        return message;
    }

    private static CallerInfo ToMessage(CallerView view)
    {
        var caller = new CallerInfo { Transport = view.Transport, Protocol = view.Protocol };
        switch (view)
        {
            case VsockCallerView vsock:
                caller.PeerCid = vsock.PeerCid;
                caller.PeerPort = vsock.PeerPort;
                caller.PeerPortPrivileged = vsock.PeerPortPrivileged;
                caller.LocalEndPoint = vsock.LocalEndPoint;
                break;
            case TcpCallerView tcp:
                caller.RemoteAddress = tcp.RemoteAddress ?? "";
                break;
        }

        return caller;
    }
}

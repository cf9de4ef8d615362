using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Vmci.Kestrel;

namespace WebAppOverVmci;

public static class DashboardApi
{
    /// <summary>How often the live view gets a new snapshot.</summary>
    public static readonly TimeSpan EventInterval = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapDashboardApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok"));

        // The status, plus how the server sees this caller: over vsock, its CID and port.
        routes.MapGet("/api/status", (HttpContext context, SystemStatus status)
            => Results.Json(new StatusResponse(status.Read(), Describe(context)), DashboardJsonContext.Default.StatusResponse));

        routes.MapGet("/api/events", (SystemStatus status, CancellationToken cancellationToken)
            => TypedResults.ServerSentEvents(Snapshots(status, cancellationToken), eventType: "status"));

        return routes;
    }

    /// <summary>How the server sees the caller of <paramref name="context"/>: for <c>/api/status</c> and its gRPC twin.</summary>
    internal static CallerView Describe(HttpContext context) => context.GetVmciConnection() is { } vsock
        ? new VsockCallerView(vsock.PeerCid, vsock.PeerPort, vsock.IsPeerPortPrivileged, vsock.LocalEndPoint.ToString(), context.Request.Protocol)
        : new TcpCallerView(context.Connection.RemoteIpAddress?.ToString(), context.Request.Protocol);

    private static async IAsyncEnumerable<StatusSnapshot> Snapshots(SystemStatus status, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(EventInterval);
        do
        {
            yield return status.Read();
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }
}

using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Vmci.Kestrel;

namespace WebAppOverVmci;

/// <summary>Records every request except the dashboard's own polling, with the caller's CID.</summary>
public sealed class RequestLogMiddleware(RequestDelegate next, RequestLog log)
{
    public Task InvokeAsync(HttpContext context)
    {
        // The live views (the page's event stream and its gRPC twin) are one long call each, not requests served.
        if (!context.Request.Path.StartsWithSegments("/api/events", StringComparison.Ordinal)
            && !context.Request.Path.StartsWithSegments("/dashboard.v1.Dashboard/WatchStatus", StringComparison.Ordinal))
        {
            IVmciConnectionFeature? vsock = context.GetVmciConnection();
            log.Record(new Caller(
                DateTimeOffset.UtcNow,
                vsock is null ? "tcp" : "vsock",
                vsock?.PeerCid,
                vsock?.PeerPort,
                vsock is null ? context.Connection.RemoteIpAddress?.ToString() : null,
                context.Request.Method,
                context.Request.Path.Value ?? "/",
                context.Request.Protocol));
        }

        return next(context);
    }
}

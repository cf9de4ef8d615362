using System.Text.Json.Serialization;

namespace WebAppOverVmci;

/// <summary>The body of <c>/api/status</c>: the VM's status, and how the server sees this caller.</summary>
public sealed record StatusResponse(StatusSnapshot Status, CallerView You);

/// <summary>How the server sees the caller of one request; serialized as its concrete type (no type field).</summary>
[JsonDerivedType(typeof(VsockCallerView))]
[JsonDerivedType(typeof(TcpCallerView))]
public abstract record CallerView(string Transport, string Protocol);

/// <summary>A caller over vsock: its CID and port, and the dashboard endpoint it reached.</summary>
public sealed record VsockCallerView(uint PeerCid, uint PeerPort, bool PeerPortPrivileged, string LocalEndPoint, string Protocol)
    : CallerView("vsock", Protocol);

/// <summary>A caller over TCP (the optional <c>--tcp</c> listener, or a bridge such as <c>vmci forward</c>).</summary>
public sealed record TcpCallerView(string? RemoteAddress, string Protocol) : CallerView("tcp", Protocol);

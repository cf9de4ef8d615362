using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// A vsock port behind a hypervisor's Unix socket: the host side of Firecracker's and Cloud Hypervisor's
/// "hybrid vsock", where the VM's vsock device is the Unix socket <see cref="UdsPath"/> (their <c>uds_path</c>)
/// on the host. Text form: <c>hvsock:///PATH:PORT</c> (Kata Containers' form: PATH absolute, PORT after the
/// last colon), for example <c>hvsock:///run/fc-1.vsock:8080</c>.
/// </summary>
/// <remarks>
/// <para>As a client endpoint (host to guest) it names the guest's vsock port <see cref="Port"/>, reached by
/// connecting to <see cref="UdsPath"/> and sending <c>CONNECT PORT</c>.</para>
/// <para>As a server endpoint (guest to host) it names the host port <see cref="Port"/> that guests dial at
/// CID 2; the hypervisor passes those connections to the Unix socket <see cref="ListenPath"/>
/// (<c>PATH_PORT</c>), where the host app listens.</para>
/// <para>It lives in Vmci.Native beside <see cref="VmciEndPoint"/> so that one parser
/// (<see cref="VmciEndPointParser.Parse(string)"/>) reads every endpoint text; the protocol itself is spoken by
/// Vmci.Kestrel's client and listener.</para>
/// </remarks>
public sealed class HybridVsockEndPoint : EndPoint, IEquatable<HybridVsockEndPoint>
{
    /// <summary>The scheme of the text form.</summary>
    public const string Scheme = "hvsock";

    /// <summary>The longest Unix socket path Linux takes (sun_path is 108 bytes with its terminating zero).</summary>
    internal const int MaxUnixPathBytes = 107;

    /// <summary>Creates an endpoint.</summary>
    /// <param name="udsPath">The VM's vsock Unix socket on the host (<c>uds_path</c>), an absolute path.</param>
    /// <param name="port">The vsock port: the guest's port for a client, the host's port for a server.</param>
    /// <exception cref="ArgumentException"><paramref name="udsPath"/> is empty or not absolute.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is <see cref="VmciPort.Any"/>: a hybrid endpoint names its port.</exception>
    public HybridVsockEndPoint(string udsPath, uint port)
    {
        ArgumentException.ThrowIfNullOrEmpty(udsPath);
        if (udsPath[0] != '/')
        {
            throw new ArgumentException($"The hybrid vsock socket path '{udsPath}' is not absolute: write it from the root, for example /run/fc-1.vsock.", nameof(udsPath));
        }

        if (port == VmciPort.Any)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A hybrid vsock endpoint needs a real port: the hypervisor forwards one port per Unix socket, so 'any' has no meaning there.");
        }

        UdsPath = udsPath;
        Port = port;
    }

    /// <summary>The VM's vsock Unix socket on the host (Firecracker's and Cloud Hypervisor's <c>uds_path</c>).</summary>
    public string UdsPath { get; }

    /// <summary>The vsock port: the guest's port for a client, the host port guests dial for a server.</summary>
    public uint Port { get; }

    /// <summary>
    /// Where a host app listens for guests that connect to CID 2, port <see cref="Port"/>:
    /// <c>UdsPath_Port</c>, the path the hypervisor connects to.
    /// </summary>
    public string ListenPath => string.Create(CultureInfo.InvariantCulture, $"{UdsPath}_{Port}");

    /// <summary><see cref="System.Net.Sockets.AddressFamily.Unix"/>: on the host, hybrid vsock is a Unix socket.</summary>
    public override AddressFamily AddressFamily => AddressFamily.Unix;

    /// <summary>Parses <c>hvsock:///PATH:PORT</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="s"/> is not a hybrid vsock endpoint; the message says why.</exception>
    public static HybridVsockEndPoint Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return VmciEndPointParser.TryParseAny(s, out EndPoint? endPoint, out string? error)
            ? endPoint as HybridVsockEndPoint ?? throw new FormatException($"'{s}' is a vsock endpoint, not a hybrid one: expected {Scheme}:///PATH:PORT.")
            : throw new FormatException(error);
    }

    /// <summary>Parses like <see cref="Parse(string)"/> without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, [NotNullWhen(true)] out HybridVsockEndPoint? result)
    {
        result = s is not null && VmciEndPointParser.TryParseAny(s, out EndPoint? endPoint, out _) ? endPoint as HybridVsockEndPoint : null;
        return result is not null;
    }

    /// <summary><c>hvsock:///PATH:PORT</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Scheme}://{UdsPath}:{Port}");

    /// <inheritdoc/>
    public bool Equals(HybridVsockEndPoint? other)
        => other is not null && other.Port == Port && string.Equals(other.UdsPath, UdsPath, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as HybridVsockEndPoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(UdsPath), Port);
}

using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// Where systemd's notify protocol (<c>sd_notify(3)</c>) sends over vsock: the AF_VSOCK forms of <c>NOTIFY_SOCKET</c>
/// and of the <c>vmm.notify_socket</c> credential, <c>vsock:CID:PORT</c>, <c>vsock-stream:CID:PORT</c>,
/// <c>vsock-seqpacket:CID:PORT</c> and <c>vsock-dgram:CID:PORT</c>.
/// </summary>
/// <remarks>
/// CID is a number or one of systemd's names <c>hypervisor</c> (0), <c>local</c> (1) and <c>host</c> (2); it must
/// name a peer, so <c>any</c>, <c>-1</c> and an empty CID are refused as <c>sd_notify</c> refuses them. PORT is a
/// decimal number below 4294967295. The plain <c>vsock:</c> form leaves the socket type open
/// (<see cref="SocketType"/> is null): a sender tries a datagram socket first, then seqpacket, then stream, as
/// systemd does, since most transports have no vsock datagrams.
/// </remarks>
public sealed class VmciNotifyAddress : IEquatable<VmciNotifyAddress>
{
    /// <summary>The name of the credential a VMM passes to its guest's systemd (PID 1), which then sends <c>READY=1</c> there.</summary>
    public const string CredentialName = "vmm.notify_socket";

    private const string Expected =
        "expected vsock:CID:PORT, vsock-stream:CID:PORT, vsock-seqpacket:CID:PORT or vsock-dgram:CID:PORT (systemd's NOTIFY_SOCKET forms), where CID is a number, 'hypervisor', 'local' or 'host', and PORT a number below 4294967295, for example vsock-stream:2:8888";

    /// <summary>Creates an address.</summary>
    /// <param name="endPoint">The receiver: a specific CID (not <see cref="VmciCid.Any"/>) and port (not <see cref="VmciPort.Any"/>).</param>
    /// <param name="socketType"><see cref="SocketType.Stream"/>, <see cref="SocketType.Seqpacket"/>, <see cref="SocketType.Dgram"/>, or null for the plain <c>vsock:</c> form.</param>
    /// <exception cref="ArgumentOutOfRangeException">The CID or port is 'any', the endpoint has flags, or the socket type is another one.</exception>
    public VmciNotifyAddress(VmciEndPoint endPoint, SocketType? socketType = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (endPoint.Cid == VmciCid.Any || endPoint.Port == VmciPort.Any || endPoint.Flags != VmciEndPointFlags.None)
        {
            throw new ArgumentOutOfRangeException(nameof(endPoint), endPoint, "A notify address names one receiver: a CID and a port, neither of them 'any', and no flags.");
        }

        if (socketType is not (null or System.Net.Sockets.SocketType.Stream or System.Net.Sockets.SocketType.Seqpacket or System.Net.Sockets.SocketType.Dgram))
        {
            throw new ArgumentOutOfRangeException(nameof(socketType), socketType, "systemd's notify protocol runs over vsock stream, seqpacket or datagram sockets.");
        }

        EndPoint = endPoint;
        SocketType = socketType;
    }

    /// <summary>The receiver's CID and port.</summary>
    public VmciEndPoint EndPoint { get; }

    /// <summary>The socket type the address asks for; null for the plain <c>vsock:</c> form (datagram, then seqpacket, then stream).</summary>
    public SocketType? SocketType { get; }

    /// <summary>
    /// The SMBIOS type 11 string that gives a guest this address as its <c>vmm.notify_socket</c> credential:
    /// <c>io.systemd.credential:vmm.notify_socket=vsock-stream:2:8888</c> (QEMU: <c>-smbios type=11,value=...</c>;
    /// Cloud Hypervisor: <c>--platform oem_strings=[...]</c>).
    /// </summary>
    public string SmbiosCredential => $"io.systemd.credential:{CredentialName}={this}";

    /// <summary>
    /// The kernel command line word that gives a guest this address as its <c>vmm.notify_socket</c> credential, for
    /// VMMs without SMBIOS (Firecracker): <c>systemd.set_credential=vmm.notify_socket:vsock-stream:2:8888</c>.
    /// </summary>
    public string KernelCommandLineCredential => $"systemd.set_credential={CredentialName}:{this}";

    /// <summary>Whether <paramref name="s"/> starts like a vsock address (so it is not a Unix socket path for other notifiers).</summary>
    public static bool IsVsockForm([NotNullWhen(true)] string? s)
        => s is not null && (s.StartsWith("vsock:", StringComparison.Ordinal) || s.StartsWith("vsock-stream:", StringComparison.Ordinal)
            || s.StartsWith("vsock-seqpacket:", StringComparison.Ordinal) || s.StartsWith("vsock-dgram:", StringComparison.Ordinal));

    /// <summary>Parses one of the forms named on the type.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="s"/> is not such an address; the message says why.</exception>
    public static VmciNotifyAddress Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return TryParse(s, out VmciNotifyAddress? result, out string? error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses like <see cref="Parse(string)"/> without throwing; <paramref name="error"/> says why it failed.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, [NotNullWhen(true)] out VmciNotifyAddress? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (s is null)
        {
            error = $"No notify address was given: {Expected}.";
            return false;
        }

        // systemd matches the prefixes exactly (lower case); "vsock:" last, as it is a prefix of none of the others.
        (string prefix, SocketType? type) = s switch
        {
            _ when s.StartsWith("vsock-stream:", StringComparison.Ordinal) => ("vsock-stream:", System.Net.Sockets.SocketType.Stream),
            _ when s.StartsWith("vsock-seqpacket:", StringComparison.Ordinal) => ("vsock-seqpacket:", System.Net.Sockets.SocketType.Seqpacket),
            _ when s.StartsWith("vsock-dgram:", StringComparison.Ordinal) => ("vsock-dgram:", System.Net.Sockets.SocketType.Dgram),
            _ when s.StartsWith("vsock:", StringComparison.Ordinal) => ("vsock:", (SocketType?)null),
            _ => ("", null),
        };
        if (prefix.Length == 0)
        {
            error = s.StartsWith('/') || s.StartsWith('@')
                ? $"'{s}' is a Unix socket address (the form systemd itself and .NET's SystemdNotifier use), not a vsock one; {Expected}."
                : $"'{s}' is not a vsock notify address: {Expected}.";
            return false;
        }

        ReadOnlySpan<char> rest = s.AsSpan(prefix.Length);
        int colon = rest.IndexOf(':');
        if (colon < 0)
        {
            error = $"'{s}' is not a vsock notify address: the port is missing; {Expected}.";
            return false;
        }

        ReadOnlySpan<char> cidText = rest[..colon];
        ReadOnlySpan<char> portText = rest[(colon + 1)..];
        if (cidText.IsEmpty || !VmciEndPointParser.TryParseCid(cidText, out uint cid) || cid == VmciCid.Any)
        {
            string why = cidText.IsEmpty ? "empty" : VmciEndPointParser.TryParseCid(cidText, out _) ? "'any', which names no receiver (sd_notify refuses it too)" : VmciEndPointParser.Describe(cidText);
            error = $"'{s}' is not a vsock notify address: the CID '{cidText}' is {why}; {Expected}.";
            return false;
        }

        if (!VmciEndPointParser.TryParseNumberOrAny(portText, VmciPort.Any, out uint port) || port == VmciPort.Any)
        {
            string why = portText.IsEmpty ? "empty" : VmciEndPointParser.TryParseNumberOrAny(portText, VmciPort.Any, out _) ? "'any', which names no receiver" : VmciEndPointParser.Describe(portText);
            error = $"'{s}' is not a vsock notify address: the port '{portText}' is {why}; {Expected}.";
            return false;
        }

        result = new VmciNotifyAddress(new VmciEndPoint(cid, port), type);
        error = null;
        return true;
    }

    /// <summary>The address in systemd's form, for example <c>vsock-stream:2:8888</c>; it parses back to an equal address.</summary>
    public override string ToString()
    {
        string prefix = SocketType switch
        {
            System.Net.Sockets.SocketType.Stream => "vsock-stream",
            System.Net.Sockets.SocketType.Seqpacket => "vsock-seqpacket",
            System.Net.Sockets.SocketType.Dgram => "vsock-dgram",
            _ => "vsock",
        };
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}:{EndPoint.Cid}:{EndPoint.Port}");
    }

    /// <inheritdoc/>
    public bool Equals(VmciNotifyAddress? other) => other is not null && other.EndPoint.Equals(EndPoint) && other.SocketType == SocketType;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as VmciNotifyAddress);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(EndPoint, SocketType);
}

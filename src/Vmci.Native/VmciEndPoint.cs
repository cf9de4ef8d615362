using System;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Vmci.Native;

/// <summary>
/// A vsock address: a context ID (CID), a port and flags, the sockaddr_vm of Linux and the
/// VMCI Sockets Programming Guide. Text form: <c>vsock://CID:PORT</c>.
/// </summary>
/// <remarks>
/// <see cref="AddressFamily"/> is <see cref="System.Net.Sockets.AddressFamily.Unknown"/> because
/// .NET has no member for AF_VSOCK and <see cref="Socket"/> compares an endpoint's family with the
/// family it read back from the kernel, which it reports as Unknown for AF_VSOCK. The real value is
/// <see cref="VmciPlatform.AddressFamily"/>.
/// </remarks>
public sealed class VmciEndPoint : EndPoint, IEquatable<VmciEndPoint>, ISpanParsable<VmciEndPoint>
{
    /// <summary>The size of a sockaddr_vm in bytes.</summary>
    internal const int SockAddrSize = 16;

    private const int FamilyOffset = 0;
    private const int PortOffset = 4;
    private const int CidOffset = 8;
    private const int FlagsOffset = 12;

    /// <summary>Creates an endpoint.</summary>
    /// <param name="cid">The context ID; see <see cref="VmciCid"/> for the well-known ones.</param>
    /// <param name="port">The port; <see cref="VmciPort.Any"/> lets the kernel pick one when binding.</param>
    /// <param name="flags">The sockaddr_vm flags.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="flags"/> has a bit Linux does not define.</exception>
    public VmciEndPoint(uint cid, uint port, VmciEndPointFlags flags = VmciEndPointFlags.None)
    {
        if ((flags & ~VmciEndPointFlags.ToHost) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(flags), flags, "Only VmciEndPointFlags.ToHost is defined for sockaddr_vm.");
        }

        Cid = cid;
        Port = port;
        Flags = flags;
    }

    /// <summary>The context ID.</summary>
    public uint Cid { get; }

    /// <summary>The port.</summary>
    public uint Port { get; }

    /// <summary>The sockaddr_vm flags.</summary>
    public VmciEndPointFlags Flags { get; }

    /// <summary>Always <see cref="System.Net.Sockets.AddressFamily.Unknown"/>; see the remarks on the type.</summary>
    public override AddressFamily AddressFamily => AddressFamily.Unknown;

    /// <summary>Whether the port is privileged (below 1024), i.e. whoever bound it has CAP_NET_BIND_SERVICE.</summary>
    public bool IsPrivilegedPort => Port < VmciPort.FirstUnprivileged;

    /// <summary>Writes this endpoint as a sockaddr_vm.</summary>
    public override SocketAddress Serialize()
    {
        // SocketAddress refuses unknown families, so start from Unspecified and write AF_VSOCK ourselves.
        var address = new SocketAddress(AddressFamily.Unspecified, SockAddrSize);
        Write(address.Buffer.Span);
        return address;
    }

    /// <summary>Reads a sockaddr_vm.</summary>
    /// <exception cref="ArgumentException">The address is not an AF_VSOCK address.</exception>
    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        return Read(socketAddress.Buffer.Span[..socketAddress.Size]);
    }

    /// <summary>Writes the 16-byte sockaddr_vm into <paramref name="destination"/>.</summary>
    internal void Write(Span<byte> destination)
    {
        destination[..SockAddrSize].Clear();
        WriteHostOrder16(destination[FamilyOffset..], Interop.Constants.AF_VSOCK);
        WriteHostOrder32(destination[PortOffset..], Port);
        WriteHostOrder32(destination[CidOffset..], Cid);
        destination[FlagsOffset] = (byte)Flags;
    }

    /// <summary>Reads a sockaddr_vm.</summary>
    internal static VmciEndPoint Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < SockAddrSize)
        {
            throw new ArgumentException($"A sockaddr_vm is {SockAddrSize} bytes; this address has {source.Length}.", nameof(source));
        }

        ushort family = BitConverter.IsLittleEndian
            ? BinaryPrimitives.ReadUInt16LittleEndian(source)
            : BinaryPrimitives.ReadUInt16BigEndian(source);
        if (family != Interop.Constants.AF_VSOCK)
        {
            throw new ArgumentException($"The address has family {family}, not AF_VSOCK ({Interop.Constants.AF_VSOCK}).", nameof(source));
        }

        // The kernel leaves unknown flag bits to future versions; keep only the ones we model.
        var flags = (VmciEndPointFlags)source[FlagsOffset] & VmciEndPointFlags.ToHost;
        return new VmciEndPoint(ReadHostOrder32(source[CidOffset..]), ReadHostOrder32(source[PortOffset..]), flags);
    }

    private static void WriteHostOrder16(Span<byte> destination, int value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)value);
        }
    }

    private static void WriteHostOrder32(Span<byte> destination, uint value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, value);
        }
    }

    private static uint ReadHostOrder32(ReadOnlySpan<byte> source) => BitConverter.IsLittleEndian
        ? BinaryPrimitives.ReadUInt32LittleEndian(source)
        : BinaryPrimitives.ReadUInt32BigEndian(source);

    /// <summary>
    /// Parses <c>vsock://CID:PORT</c>, <c>vsock:CID:PORT</c> (systemd, gRPC) or <c>CID:PORT</c>, each optionally
    /// followed by <c>?to-host</c> (<see cref="VmciEndPointFlags.ToHost"/>).
    /// CID is a number or <c>any</c>/<c>-1</c>, <c>local</c>, <c>host</c>, <c>hypervisor</c>;
    /// PORT is a number or <c>any</c>/<c>-1</c>. <see cref="VmciEndPointParser.Parse(string)"/> reads hybrid vsock too.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    /// <exception cref="FormatException"><paramref name="s"/> is not such an endpoint; the message says why.</exception>
    public static VmciEndPoint Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return Parse(s.AsSpan());
    }

    /// <inheritdoc cref="Parse(string)"/>
    public static VmciEndPoint Parse(ReadOnlySpan<char> s)
        => VmciEndPointParser.TryParseVsock(s, out var endPoint, out var error) ? endPoint : throw new FormatException(error);

    /// <summary>Parses like <see cref="Parse(string)"/> without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, [NotNullWhen(true)] out VmciEndPoint? result)
        => TryParse(s.AsSpan(), out result);

    /// <summary>Parses like <see cref="Parse(string)"/> without throwing.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, [NotNullWhen(true)] out VmciEndPoint? result)
        => VmciEndPointParser.TryParseVsock(s, out result, out _);

    static VmciEndPoint IParsable<VmciEndPoint>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<VmciEndPoint>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [NotNullWhen(true)] out VmciEndPoint? result)
        => TryParse(s, out result);

    static VmciEndPoint ISpanParsable<VmciEndPoint>.Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    static bool ISpanParsable<VmciEndPoint>.TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, [NotNullWhen(true)] out VmciEndPoint? result)
        => TryParse(s, out result);

    /// <summary>
    /// <c>vsock://CID:PORT</c>, with <c>any</c> for <see cref="VmciCid.Any"/> and <see cref="VmciPort.Any"/>, and
    /// <c>?to-host</c> after it when <see cref="Flags"/> has <see cref="VmciEndPointFlags.ToHost"/>; it parses back
    /// to an equal endpoint.
    /// </summary>
    public override string ToString()
        => (Flags & VmciEndPointFlags.ToHost) != 0
            ? $"vsock://{FormatNumber(Cid, VmciCid.Any)}:{FormatNumber(Port, VmciPort.Any)}?{VmciEndPointParser.ToHostOption}"
            : $"vsock://{FormatNumber(Cid, VmciCid.Any)}:{FormatNumber(Port, VmciPort.Any)}";

    private static string FormatNumber(uint value, uint any)
        => value == any ? "any" : value.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public bool Equals(VmciEndPoint? other)
        => other is not null && other.Cid == Cid && other.Port == Port && other.Flags == Flags;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as VmciEndPoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Cid, Port, Flags);
}

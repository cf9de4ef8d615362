using System;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Vmci.Native;

/// <summary>
/// The vsock socket options of the VMCI Sockets Programming Guide, typed, as extension methods on
/// <see cref="Socket"/>. Values are read from and written to the kernel every time.
/// </summary>
/// <remarks>
/// The buffer sizes are the guide's SO_VMCI_BUFFER_SIZE, _MIN_SIZE and _MAX_SIZE (Linux:
/// SO_VM_SOCKETS_BUFFER_*): the size of the receive queue the transport keeps for a stream
/// connection. Set them before connect or listen; accepted sockets inherit the listener's.
/// </remarks>
public static class VmciSocketOptions
{
    private const string BufferSizeName = "SO_VM_SOCKETS_BUFFER_SIZE (SO_VMCI_BUFFER_SIZE)";
    private const string BufferMinSizeName = "SO_VM_SOCKETS_BUFFER_MIN_SIZE (SO_VMCI_BUFFER_MIN_SIZE)";
    private const string BufferMaxSizeName = "SO_VM_SOCKETS_BUFFER_MAX_SIZE (SO_VMCI_BUFFER_MAX_SIZE)";
    private const string ConnectTimeoutName = "SO_VM_SOCKETS_CONNECT_TIMEOUT";
    private const string PeerHostVmIdName = "SO_VM_SOCKETS_PEER_HOST_VM_ID";
    private const string TrustedName = "SO_VM_SOCKETS_TRUSTED";

    /// <summary>The largest connect timeout accepted: what a 32-bit tv_sec and the kernel's jiffies can hold safely.</summary>
    public static readonly TimeSpan MaxConnectTimeout = TimeSpan.FromSeconds(int.MaxValue / 1000);

    /// <summary>The buffer size in bytes (Linux default 262144).</summary>
    public static ulong GetVmciBufferSize(this Socket socket)
        => GetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_SIZE, BufferSizeName);

    /// <summary>
    /// Sets the buffer size in bytes. The kernel silently clamps the size to [min, max]; this method
    /// moves the max up (or the min down) first so that the size asked for is the size set, and fails
    /// if a transport limit still changes it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is 0.</exception>
    /// <exception cref="VmciSocketException">The kernel refused or changed the value.</exception>
    public static void SetVmciBufferSize(this Socket socket, ulong bytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bytes);
        if (bytes > socket.GetVmciBufferMaxSize())
        {
            socket.SetVmciBufferMaxSize(bytes);
        }

        if (bytes < socket.GetVmciBufferMinSize())
        {
            socket.SetVmciBufferMinSize(bytes);
        }

        SetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_SIZE, BufferSizeName, bytes);
        ulong actual = socket.GetVmciBufferSize();
        if (actual != bytes)
        {
            throw VmciErrors.FromErrno(Interop.Errno.EINVAL, VmciOperation.SetOption, option: $"{BufferSizeName} to {bytes} (the transport limited it to {actual})");
        }
    }

    /// <summary>
    /// Sets the buffer bounds and size together, in the one order that gives what was asked for: the maximum
    /// first and the minimum next, so that a size between them is not clamped by the old bounds; then the size,
    /// which a maximum set on purpose caps (a size above it would otherwise raise it). Null leaves a value as it is.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is 0.</exception>
    /// <exception cref="VmciSocketException">The kernel refused or changed a value.</exception>
    public static void SetVmciBufferSizes(this Socket socket, ulong? size, ulong? minSize = null, ulong? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (maxSize is ulong max)
        {
            socket.SetVmciBufferMaxSize(max);
        }

        if (minSize is ulong min)
        {
            socket.SetVmciBufferMinSize(min);
        }

        if (size is ulong bytes)
        {
            socket.SetVmciBufferSize(maxSize is ulong limit ? Math.Min(bytes, limit) : bytes);
        }
    }

    /// <summary>The smallest buffer size the buffer size may be set to (Linux default 128).</summary>
    public static ulong GetVmciBufferMinSize(this Socket socket)
        => GetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_MIN_SIZE, BufferMinSizeName);

    /// <summary>Sets the smallest buffer size; the kernel raises the buffer size to it if needed.</summary>
    public static void SetVmciBufferMinSize(this Socket socket, ulong bytes)
        => SetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_MIN_SIZE, BufferMinSizeName, bytes);

    /// <summary>The largest buffer size the buffer size may be set to (Linux default 262144).</summary>
    public static ulong GetVmciBufferMaxSize(this Socket socket)
        => GetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_MAX_SIZE, BufferMaxSizeName);

    /// <summary>Sets the largest buffer size; the kernel lowers the buffer size to it if needed.</summary>
    public static void SetVmciBufferMaxSize(this Socket socket, ulong bytes)
        => SetUInt64(socket, Interop.Constants.SO_VM_SOCKETS_BUFFER_MAX_SIZE, BufferMaxSizeName, bytes);

    /// <summary>How long a connect waits for the peer before it fails with a timeout (Linux default 2 seconds).</summary>
    public static TimeSpan GetVmciConnectTimeout(this Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> timeval = stackalloc byte[2 * IntPtr.Size];
        Get(socket, Interop.Constants.SO_VM_SOCKETS_CONNECT_TIMEOUT, ConnectTimeoutName, timeval);
        long seconds = ReadNative(timeval);
        long microseconds = ReadNative(timeval[IntPtr.Size..]);
        return TimeSpan.FromSeconds(seconds) + TimeSpan.FromMicroseconds(microseconds);
    }

    /// <summary>Sets how long a connect waits for the peer (rounded up to the kernel's clock tick).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive, or more than <see cref="MaxConnectTimeout"/>.</exception>
    public static void SetVmciConnectTimeout(this Socket socket, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, MaxConnectTimeout);
        long ticks = timeout.Ticks;
        long seconds = ticks / TimeSpan.TicksPerSecond;
        // Round partial microseconds up so that a tiny positive timeout never becomes 0 (which the kernel reads as "default").
        long microseconds = ((ticks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerMicrosecond - 1) / TimeSpan.TicksPerMicrosecond;
        if (microseconds == 1_000_000)
        {
            // Rounding up reached the next second; tv_usec must stay below 1,000,000 (ERANGE otherwise).
            seconds++;
            microseconds = 0;
        }
        Span<byte> timeval = stackalloc byte[2 * IntPtr.Size];
        WriteNative(timeval, seconds);
        WriteNative(timeval[IntPtr.Size..], microseconds);
        Set(socket, Interop.Constants.SO_VM_SOCKETS_CONNECT_TIMEOUT, ConnectTimeoutName, timeval);
    }

    /// <summary>The VMCI host VM id of the connected peer (the guide's SO_VMCI_PEER_HOST_VM_ID).</summary>
    /// <remarks>Only VMware's VMCI transport implements it; elsewhere this throws a <see cref="VmciSocketException"/> that says so.</remarks>
    public static uint GetVmciPeerHostVmId(this Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(uint)];
        Get(socket, Interop.Constants.SO_VM_SOCKETS_PEER_HOST_VM_ID, PeerHostVmIdName, value);
        return MemoryMarshal.Read<uint>(value);
    }

    /// <summary>Whether the connected peer is trusted by the VMCI transport (the guide's SO_VMCI_TRUSTED).</summary>
    /// <remarks>Only VMware's VMCI transport implements it; elsewhere this throws a <see cref="VmciSocketException"/> that says so.</remarks>
    public static bool GetVmciTrusted(this Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(uint)];
        Get(socket, Interop.Constants.SO_VM_SOCKETS_TRUSTED, TrustedName, value);
        return MemoryMarshal.Read<uint>(value) != 0;
    }

    private static ulong GetUInt64(Socket socket, int name, string displayName)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(ulong)];
        Get(socket, name, displayName, value);
        return MemoryMarshal.Read<ulong>(value);
    }

    private static void SetUInt64(Socket socket, int name, string displayName, ulong value)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        MemoryMarshal.Write(bytes, in value);
        Set(socket, name, displayName, bytes);
    }

    private static void Get(Socket socket, int name, string displayName, Span<byte> value)
    {
        try
        {
            int length = socket.GetRawSocketOption(Interop.Constants.AF_VSOCK, name, value);
            if (length != value.Length)
            {
                throw VmciErrors.FromErrno(Interop.Errno.EINVAL, VmciOperation.GetOption, option: $"{displayName} (the kernel returned {length} bytes, expected {value.Length})");
            }
        }
        catch (SocketException ex)
        {
            throw VmciErrors.FromSocketException(ex, VmciOperation.GetOption, option: displayName);
        }
    }

    private static void Set(Socket socket, int name, string displayName, ReadOnlySpan<byte> value)
    {
        try
        {
            socket.SetRawSocketOption(Interop.Constants.AF_VSOCK, name, value);
        }
        catch (SocketException ex)
        {
            throw VmciErrors.FromSocketException(ex, VmciOperation.SetOption, option: displayName);
        }
    }

    private static long ReadNative(ReadOnlySpan<byte> source)
        => IntPtr.Size == sizeof(long) ? MemoryMarshal.Read<long>(source) : MemoryMarshal.Read<int>(source);

    private static void WriteNative(Span<byte> destination, long value)
    {
        if (IntPtr.Size == sizeof(long))
        {
            MemoryMarshal.Write(destination, in value);
        }
        else
        {
            int narrow = checked((int)value);
            MemoryMarshal.Write(destination, in narrow);
        }
    }
}
